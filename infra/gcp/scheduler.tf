resource "google_cloud_scheduler_job" "scan" {
  project     = var.project
  region      = var.region
  name        = "credwatch-scan"
  description = "credwatch: one scan per period"
  schedule    = var.schedule
  time_zone   = var.time_zone
  # Above the function timeout, so Scheduler never reports DEADLINE_EXCEEDED for a run that is still going.
  attempt_deadline = "${var.function_timeout_seconds + 60}s"

  retry_config {
    # The next run resumes from the checkpoint; a retry would only overlap it.
    retry_count = 0
  }

  http_target {
    uri         = google_cloudfunctions2_function.scanner.service_config[0].uri
    http_method = "POST"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode("{}")
    oidc_token {
      service_account_email = google_service_account.accounts["invoker"].email
      audience              = google_cloudfunctions2_function.scanner.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.invoker, google_service_account_iam_member.scheduler_token]
  lifecycle {
    precondition {
      condition     = local.run_period_minutes == null || var.function_timeout_seconds < local.run_period_minutes * 60
      error_message = "function_timeout_seconds: a run must end before the next is due; keep it below the schedule period (${coalesce(local.run_period_minutes, 0)} minutes)."
    }
  }
}
