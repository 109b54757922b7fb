# Addresses of deployments made before the service accounts and the log metrics became one
# resource each (for_each): Terraform moves them in state instead of destroying and recreating
# them (https://developer.hashicorp.com/terraform/language/modules/develop/refactoring).
# One block per address: a moved block takes no for_each or count.
moved {
  from = google_service_account.runtime
  to   = google_service_account.accounts["runtime"]
}

moved {
  from = google_service_account.invoker
  to   = google_service_account.accounts["invoker"]
}

moved {
  from = google_service_account.build
  to   = google_service_account.accounts["build"]
}

moved {
  from = google_logging_metric.sources_failed
  to   = google_logging_metric.function_lines["sources_failed"]
}

moved {
  from = google_logging_metric.runs_finished
  to   = google_logging_metric.function_lines["runs_finished"]
}
