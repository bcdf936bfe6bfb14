"""Destinations (fhir, http, dicom, file, log) and the durable delivery queue with retry.

`service.DeliveryService` is the entry point: the pipeline enqueues rows in its own
transaction, worker threads deliver them. No Qt here (STYLE 1).
"""
