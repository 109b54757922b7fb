data "google_project" "this" {
  project_id = var.project
}

resource "google_service_account" "runtime" {
  project      = var.project
  account_id   = "credwatch-runtime"
  display_name = "credwatch function (reads audit logs, keeps state, publishes alerts)"
}

resource "google_service_account" "invoker" {
  project      = var.project
  account_id   = "credwatch-invoker"
  display_name = "credwatch scheduler (may only invoke the function)"
}

# Data Access audit logs are private logs: Logs Viewer alone does not return them.
resource "google_project_iam_member" "logs_viewer" {
  for_each = toset(local.gke_projects)
  project  = each.value
  role     = "roles/logging.viewer"
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "private_logs_viewer" {
  for_each = toset(local.gke_projects)
  project  = each.value
  role     = "roles/logging.privateLogViewer"
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "state" {
  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
  condition {
    title       = "credwatch state database only"
    description = "Limits Datastore User to the credwatch Firestore database."
    expression  = "resource.name.startsWith(\"projects/${var.project}/databases/${google_firestore_database.state.name}\")"
  }
}

resource "google_pubsub_topic_iam_member" "publisher" {
  project = var.project
  topic   = google_pubsub_topic.alerts.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.scanner.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# Cloud Scheduler's service agent mints the OIDC token as the invoker account.
resource "google_service_account_iam_member" "scheduler_token" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
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
}
