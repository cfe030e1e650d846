"""Upload destinations (Google Drive, local folder), the durable upload queue and auth."""
