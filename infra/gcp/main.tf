locals {
  gke_projects    = length(var.gke_projects) > 0 ? var.gke_projects : [var.project]
  source_dir      = coalesce(var.function_source_dir, "${path.module}/../../dist/gcp-function")
  firestore_where = coalesce(var.firestore_location, var.region)
  # Must be the collection core/scan/state/firestore-store.ts writes (FIRESTORE_DEFAULT_COLLECTION) and its TTL field.
  state_collection = "credwatch"
  ttl_field        = "expiresAt"
  function_name    = "credwatch-scan"
  state_database   = "projects/${var.project}/databases/${var.firestore_database}"
  state_condition  = "resource.name == \"${local.state_database}\" || resource.name.startsWith(\"${local.state_database}/\")"
  # merge() and a filtered for keep one object type and one tuple shape for every variable combination:
  # a conditional between objects with different attributes does not type-check.
  gke_source = merge({ cloud = "gke", projects = local.gke_projects }, var.gke_cluster == null ? {} : { cluster = var.gke_cluster })
  # Tracee / Falco output in the same projects' container logs, read beside the audit logs and
  # tied to the kubectl exec behind each read (docs/runtime-sensors.md).
  gke_runtime_source = merge(local.gke_source, { cloud = "gke-runtime", containers = var.runtime_sensor_containers })
  sources            = concat([local.gke_source], [for s in [local.gke_runtime_source] : s if length(var.runtime_sensor_containers) > 0])
  # The detection config file (allowlists, thresholds), re-encoded so its whitespace never redeploys the function.
  detection_config = var.config_file == null ? null : jsonencode(jsondecode(file(var.config_file)))
  # Cloud Scheduler's period when the schedule is the usual */N form; else var.run_period_minutes.
  schedule_every     = regexall("^\\*/([0-9]+) \\* \\* \\* \\*$", var.schedule)
  run_period_minutes = var.run_period_minutes != null ? var.run_period_minutes : (length(local.schedule_every) > 0 ? tonumber(local.schedule_every[0][0]) : (var.schedule == "* * * * *" ? 1 : null))
  # Names from functions/shared/runtime-config.ts ENV.
  environment = merge(
    {
      CREDWATCH_SOURCES              = jsonencode(local.sources)
      CREDWATCH_FIRESTORE_DATABASE   = google_firestore_database.state.name
      CREDWATCH_FIRESTORE_COLLECTION = local.state_collection
      CREDWATCH_PUBSUB_TOPIC         = google_pubsub_topic.alerts.id
      GOOGLE_CLOUD_PROJECT           = var.project
      CREDWATCH_LOOKBACK_MINUTES     = tostring(var.lookback_minutes)
      CREDWATCH_RUN_TIMEOUT_SECONDS  = tostring(var.function_timeout_seconds)
    },
    var.alert_min_severity == null ? {} : { CREDWATCH_ALERT_MIN_SEVERITY = var.alert_min_severity },
    length(var.rules) == 0 ? {} : { CREDWATCH_RULES = join(",", var.rules) },
    local.detection_config == null ? {} : { CREDWATCH_CONFIG = local.detection_config },
  )
}

resource "google_project_service" "apis" {
  for_each = toset([
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudscheduler.googleapis.com",
    "pubsub.googleapis.com",
    "firestore.googleapis.com",
    "logging.googleapis.com",
    "storage.googleapis.com",
    # Service accounts and their bindings, and project IAM / audit config: a fresh project has neither on.
    "iam.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "monitoring.googleapis.com",
  ])
  project            = var.project
  service            = each.value
  disable_on_destroy = false
}

resource "google_pubsub_topic" "alerts" {
  project = var.project
  name    = var.alert_topic
  # Unacknowledged alerts stay a week for a subscriber that was down.
  message_retention_duration = "604800s"
  depends_on                 = [google_project_service.apis]
}

resource "google_firestore_database" "state" {
  project     = var.project
  name        = var.firestore_database
  location_id = local.firestore_where
  type        = "FIRESTORE_NATIVE"
  # Checkpoints and dedup claims only: `terraform destroy` may delete them, a new run starts over.
  delete_protection_state = "DELETE_PROTECTION_DISABLED"
  deletion_policy         = "DELETE"
  depends_on              = [google_project_service.apis]
}

resource "google_firestore_field" "state_ttl" {
  project    = var.project
  database   = google_firestore_database.state.name
  collection = local.state_collection
  field      = local.ttl_field
  ttl_config {}
  # A TTL field needs no single-field index.
  index_config {}
}

resource "google_storage_bucket" "source" {
  project                     = var.project
  name                        = "${var.project}-credwatch-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  depends_on                  = [google_project_service.apis]
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = local.source_dir
  output_path = "${path.root}/.terraform/credwatch-gcp-function.zip"
}

resource "google_storage_bucket_object" "source" {
  # The content hash in the name makes a changed build a new object, so the function redeploys.
  name   = "credwatch-gcp-function-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "scanner" {
  project     = var.project
  location    = var.region
  name        = local.function_name
  description = "credwatch: scans Kubernetes audit logs for credential abuse"

  build_config {
    runtime     = "nodejs22"
    entry_point = "credwatchScan"
    # New projects' default build account lacks the rights to build; this one has exactly them (iam.tf).
    service_account = google_service_account.accounts["build"].id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # One run at a time: an overlapping request waits or is refused, and the Firestore lease is the backstop.
    max_instance_count               = 1
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    available_memory                 = var.function_memory
    available_cpu                    = "1"
    timeout_seconds                  = var.function_timeout_seconds
    service_account_email            = google_service_account.accounts["runtime"].email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    environment_variables            = local.environment
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_source,
  ]
}
