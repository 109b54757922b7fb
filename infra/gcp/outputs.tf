output "function_uri" {
  value       = google_cloudfunctions2_function.scanner.service_config[0].uri
  description = "HTTPS endpoint of the scanner (requires an OIDC token of an account with run.invoker)."
}

output "alert_topic" {
  value       = google_pubsub_topic.alerts.id
  description = "Subscribe to this topic to receive alerts (JSON body, attributes rule/severity/cluster)."
}

output "runtime_service_account" {
  value = google_service_account.accounts["runtime"].email
}

output "invoker_service_account" {
  value = google_service_account.accounts["invoker"].email
}

output "scheduler_job" {
  value = google_cloud_scheduler_job.scan.id
}

output "firestore_database" {
  value = google_firestore_database.state.name
}
