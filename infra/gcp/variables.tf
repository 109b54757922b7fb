variable "project" {
  type        = string
  description = "Project that runs credwatch: the function, scheduler, Firestore database and alert topic."
}

variable "region" {
  type        = string
  default     = "us-central1"
  description = "Region of the function and the scheduler job."
}

variable "gke_projects" {
  type        = list(string)
  default     = []
  description = "Projects whose GKE audit logs are scanned; empty means var.project only."
}

variable "gke_cluster" {
  type        = string
  default     = null
  description = "Scan only this cluster (resource.labels.cluster_name); null scans every cluster of the projects."
}

variable "runtime_sensor_containers" {
  type        = list(string)
  default     = []
  description = "Container names of a runtime sensor (e.g. [\"tracee\"] or [\"falco\"]) whose output is in the scanned projects' container logs; empty reads audit logs only."
}

variable "schedule" {
  type        = string
  default     = "*/5 * * * *"
  description = "Cloud Scheduler cron expression. The scan core keeps checkpoints, so a longer period only delays alerts."
}

variable "time_zone" {
  type    = string
  default = "Etc/UTC"
}

variable "lookback_minutes" {
  type        = number
  default     = 6
  description = "How far back the first run looks; later runs start at the last checkpoint."
}

variable "alert_min_severity" {
  type        = string
  default     = null
  description = "Lowest severity published as an alert (info, low, medium, high, critical); null keeps the handler's default."
}

variable "alert_topic" {
  type        = string
  default     = "credwatch-alerts"
  description = "Pub/Sub topic ID created for alerts; subscribe to it (push, e-mail via a bridge, SIEM)."
}

variable "firestore_database" {
  type        = string
  default     = "credwatch"
  description = "Firestore database ID created for scan state; a named database leaves any (default) one alone."
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
}

variable "function_timeout_seconds" {
  type        = number
  default     = 240
  description = "A run must end before the next is due (5 minutes); the scheduler's deadline is set above it."
}

variable "enable_gke_data_access_logs" {
  type        = bool
  default     = false
  description = "Turn on Data Access audit logs (ADMIN_READ, DATA_READ, DATA_WRITE) for container.googleapis.com in every scanned project. Secret reads are only logged there; they are billed as log ingestion."
}
