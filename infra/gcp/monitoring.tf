# Self-monitoring: credwatch silently blind is worse than no credwatch. The function writes one
# structured line per source and one per run (functions/gcp/structured-log.ts); these metrics
# count them and the policies alert when a source fails or when runs stop.
locals {
  function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.function_name}\""
  # Two missed periods before alerting, and never below Monitoring's 2-minute minimum for an absence condition.
  missed_run_seconds  = local.run_period_minutes == null ? null : max(120, min(82800, local.run_period_minutes * 2 * 60 + 60))
  notification_ids    = [for c in google_monitoring_notification_channel.email : c.id]
  example_subscribers = var.create_example_subscription ? toset(["credwatch-alerts-example"]) : toset([])
}

resource "google_logging_metric" "function_lines" {
  for_each = {
    sources_failed = {
      description = "credwatch: sources whose scan failed or whose alerts were not delivered"
      message     = "(\"source scan failed\" OR \"alerts not delivered\")"
    }
    runs_finished = {
      description = "credwatch: scheduled runs that finished (with or without failed sources)"
      message     = "\"scan run finished\""
    }
  }
  project     = var.project
  name        = "credwatch/${each.key}"
  description = each.value.description
  filter      = "${local.function_logs} AND jsonPayload.message=${each.value.message}"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = var.alert_email == null ? toset([]) : toset([var.alert_email])
  project      = var.project
  display_name = "credwatch self-monitoring (${each.value})"
  type         = "email"
  labels = {
    email_address = each.value
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "sources_failed" {
  project      = var.project
  display_name = "credwatch: a source failed"
  combiner     = "OR"
  conditions {
    display_name = "credwatch sources_failed > 0"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_lines["sources_failed"].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
      trigger {
        count = 1
      }
    }
  }
  documentation {
    content   = "A credwatch source could not be scanned (its checkpoint does not advance) or its alerts were not delivered. The function's log line \"source scan failed\" names the source and the reason."
    mime_type = "text/markdown"
  }
  notification_channels = local.notification_ids
}

resource "google_monitoring_alert_policy" "missed_runs" {
  project      = var.project
  display_name = "credwatch: scheduled runs stopped"
  combiner     = "OR"
  conditions {
    display_name = "credwatch runs_finished absent"
    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_lines["runs_finished"].name}\" AND resource.type=\"cloud_run_revision\""
      duration = "${local.missed_run_seconds}s"
      aggregations {
        alignment_period   = "${max(60, local.run_period_minutes * 60)}s"
        per_series_aligner = "ALIGN_COUNT"
      }
      trigger {
        count = 1
      }
    }
  }
  documentation {
    content   = "No credwatch run finished for two schedule periods: the scheduler job is paused or deleted, the function crashes or times out, or its configuration is invalid (see the function's ERROR lines)."
    mime_type = "text/markdown"
  }
  notification_channels = local.notification_ids
  lifecycle {
    precondition {
      condition     = local.run_period_minutes != null
      error_message = "run_period_minutes: the schedule is not of the form */N * * * *, so set run_period_minutes to the minutes between runs (the missed-run alert needs it)."
    }
  }
}

# An example consumer: a pull subscription keeps alerts (7 days) from the first run until a SIEM
# or push endpoint subscribes. `gcloud pubsub subscriptions pull credwatch-alerts-example --auto-ack`.
resource "google_pubsub_subscription" "example" {
  for_each                   = local.example_subscribers
  project                    = var.project
  name                       = each.value
  topic                      = google_pubsub_topic.alerts.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }
}
