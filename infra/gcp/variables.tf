# One block per input, though they look alike: the names are the module's interface
# (docs/deploy.md), which existing tfvars files and -var flags set one by one; grouping them into
# object variables would make every existing deployment rewrite its settings.

variable "project" {
  type        = string
  description = "Project that runs credwatch: the function, scheduler, Firestore database and alert topic."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a Google Cloud project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  default     = "us-central1"
  description = "Region of the function and the scheduler job."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 (not a zone such as us-central1-a)."
  }
}

variable "gke_projects" {
  type        = list(string)
  default     = []
  description = "Projects whose GKE audit logs are scanned; empty means var.project only."
  validation {
    condition     = alltrue([for p in var.gke_projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))])
    error_message = "gke_projects must list Google Cloud project IDs (6-30 lowercase letters, digits and hyphens)."
  }
}

variable "gke_cluster" {
  type        = string
  default     = null
  description = "Scan only this cluster (resource.labels.cluster_name); null scans every cluster of the projects."
  validation {
    condition     = var.gke_cluster == null || can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.gke_cluster))
    error_message = "gke_cluster must be a GKE cluster name: up to 40 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "runtime_sensor_containers" {
  type        = list(string)
  default     = []
  description = "Container names of a runtime sensor (e.g. [\"tracee\"] or [\"falco\"]) whose output is in the scanned projects' container logs; empty reads audit logs only."
  validation {
    condition     = alltrue([for c in var.runtime_sensor_containers : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", c))])
    error_message = "runtime_sensor_containers must list container names (DNS labels such as tracee or falco)."
  }
}

variable "schedule" {
  type        = string
  default     = "*/5 * * * *"
  description = "Cloud Scheduler cron expression. The scan core keeps checkpoints, so a longer period only delays alerts."
  validation {
    condition     = length(split(" ", trimspace(var.schedule))) == 5 && can(regex("^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,A-Za-z-]+ [0-9*/,A-Za-z-]+$", trimspace(var.schedule)))
    error_message = "schedule must be a five-field unix-cron expression such as */5 * * * *."
  }
}

variable "time_zone" {
  type        = string
  default     = "Etc/UTC"
  description = "Time zone of the schedule (a tz database name)."
  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.time_zone))
    error_message = "time_zone must be a tz database name such as Etc/UTC or Europe/Berlin."
  }
}

variable "lookback_minutes" {
  type        = number
  default     = 6
  description = "How far back the first run looks; later runs start at the last checkpoint."
  validation {
    condition     = var.lookback_minutes >= 1 && var.lookback_minutes <= 1440 && floor(var.lookback_minutes) == var.lookback_minutes
    error_message = "lookback_minutes must be a whole number of minutes from 1 to 1440."
  }
}

variable "alert_min_severity" {
  type        = string
  default     = null
  description = "Lowest severity published as an alert (info, low, medium, high, critical); null keeps the handler's default."
  validation {
    condition     = var.alert_min_severity == null || contains(["info", "low", "medium", "high", "critical"], coalesce(var.alert_min_severity, "info"))
    error_message = "alert_min_severity must be one of info, low, medium, high, critical (or null)."
  }
}

variable "alert_topic" {
  type        = string
  default     = "credwatch-alerts"
  description = "Pub/Sub topic ID created for alerts; subscribe to it (push, e-mail via a bridge, SIEM)."
  validation {
    condition     = can(regex("^[A-Za-z][-A-Za-z0-9._~%+]{2,254}$", var.alert_topic)) && !startswith(var.alert_topic, "goog")
    error_message = "alert_topic must be a Pub/Sub topic ID: 3-255 characters, starting with a letter, not with goog."
  }
}

variable "firestore_database" {
  type        = string
  default     = "credwatch"
  description = "Firestore database ID created for scan state; a named database leaves any (default) one alone."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.firestore_database))
    error_message = "firestore_database must be a database ID of 4-63 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "firestore_location" {
  type        = string
  default     = null
  description = "Firestore location (a region or a multi-region such as nam5); null uses var.region."
}

variable "function_source_dir" {
  type        = string
  default     = null
  description = "Output of `npx tsx scripts/package-gcp-function.ts`; null uses dist/gcp-function of this repository."
}

variable "function_memory" {
  type        = string
  default     = "2Gi"
  description = "Memory of the function; 2Gi comes with one full vCPU, which the single-threaded scan uses."
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.function_memory))
    error_message = "function_memory must be a size such as 512Mi or 2Gi."
  }
}

variable "function_timeout_seconds" {
  type        = number
  default     = 240
  description = "A run must end before the next is due (below the schedule period); the scheduler's deadline is set 60 s above it."
  validation {
    condition     = var.function_timeout_seconds >= 60 && var.function_timeout_seconds <= 840 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number from 60 to 840: a run's leases last this long, and a run must end before the next is due (docs/deploy-gcp-runtime.md)."
  }
}

variable "enable_gke_data_access_logs" {
  type        = bool
  default     = false
  description = "Turn on Data Access audit logs (ADMIN_READ, DATA_READ, DATA_WRITE) for container.googleapis.com in every scanned project. Secret reads are only logged there; they are billed as log ingestion."
}

variable "run_period_minutes" {
  type        = number
  default     = null
  description = "Minutes between runs, for the missed-run alert; null derives it from a schedule of the form */N * * * * (any other schedule must set it)."
  validation {
    condition     = var.run_period_minutes == null || try(var.run_period_minutes >= 1 && var.run_period_minutes <= 1440, false)
    error_message = "run_period_minutes must be from 1 to 1440."
  }
}

variable "rules" {
  type        = list(string)
  default     = []
  description = "Rule IDs to run (credwatch rules lists them); empty runs every rule. An unknown ID fails the run, which the failed-run alert reports."
  validation {
    condition     = alltrue([for r in var.rules : can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", r))])
    error_message = "rules must list rule IDs such as csr-approved-by-node (lowercase words joined by hyphens)."
  }
}

variable "config_file" {
  type        = string
  default     = null
  description = "Path of a JSON credwatch config file (allowlists, thresholds; see the configuration section of README.md), deployed as CREDWATCH_CONFIG; null runs the defaults."
  validation {
    condition     = var.config_file == null || can(jsondecode(file(coalesce(var.config_file, "/"))))
    error_message = "config_file must be the path of a readable JSON file (a credwatch config file)."
  }
}

variable "alert_email" {
  type        = string
  default     = null
  description = "E-mail address notified by the self-monitoring alert policies (failed sources, missed runs); null creates no notification channel."
  validation {
    condition     = var.alert_email == null || can(regex("^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$", coalesce(var.alert_email, "x")))
    error_message = "alert_email must be an e-mail address."
  }
}

variable "create_example_subscription" {
  type        = bool
  default     = true
  description = "Create a pull subscription on the alert topic (credwatch-alerts-example) so alerts are kept from the first run; replace it with your SIEM's."
}
