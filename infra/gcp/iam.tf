data "google_project" "this" {
  project_id = var.project
  depends_on = [google_project_service.apis]
}

# One account per role, each holding only its own grants below.
locals {
  service_accounts = {
    runtime = "credwatch function (reads audit logs, keeps state, publishes alerts)"
    invoker = "credwatch scheduler (may only invoke the function)"
    # Cloud Build runs as this account: since 2024 a new project's default build account may lack
    # the rights to build a function (https://cloud.google.com/functions/docs/securing/build-custom-sa).
    build = "credwatch function build (Cloud Build)"
  }
}

resource "google_service_account" "accounts" {
  for_each     = local.service_accounts
  project      = var.project
  account_id   = "credwatch-${each.key}"
  display_name = each.value
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
  project  = var.project
  role     = each.value
  member   = "serviceAccount:${google_service_account.accounts["build"].email}"
}

# Reads the uploaded source only, not every bucket of the project.
resource "google_storage_bucket_iam_member" "build_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.accounts["build"].email}"
}

# Data Access audit logs are private logs; Private Logs Viewer also reads the Admin Activity
# logs, so Logs Viewer beside it would add nothing.
resource "google_project_iam_member" "private_logs_viewer" {
  for_each = toset(local.gke_projects)
  project  = each.value
  role     = "roles/logging.privateLogViewer"
  member   = "serviceAccount:${google_service_account.accounts["runtime"].email}"
}

resource "google_project_iam_member" "state" {
  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.accounts["runtime"].email}"
  condition {
    title       = "credwatch state database only"
    description = "Limits Datastore User to the credwatch Firestore database (exact name, and what lies under it)."
    # An exact match or the name followed by "/": a bare prefix would also match credwatch2.
    expression = local.state_condition
  }
}

resource "google_pubsub_topic_iam_member" "publisher" {
  project = var.project
  topic   = google_pubsub_topic.alerts.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.accounts["runtime"].email}"
}

resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.scanner.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.accounts["invoker"].email}"
}

# Cloud Scheduler's service agent mints the OIDC token as the invoker account; the agent exists
# once the Cloud Scheduler API is enabled.
resource "google_service_account_iam_member" "scheduler_token" {
  service_account_id = google_service_account.accounts["invoker"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
  depends_on         = [google_project_service.apis]
}

# Authoritative for container.googleapis.com's audit config in each project: leave it off when
# that config is managed elsewhere and enable the logs there (docs/deploy.md).
resource "google_project_iam_audit_config" "gke_data_access" {
  for_each = var.enable_gke_data_access_logs ? toset(local.gke_projects) : toset([])
  project  = each.value
  service  = "container.googleapis.com"
  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
  depends_on = [google_project_service.apis]
}
