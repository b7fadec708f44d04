"""Export jobs: long exports (big statements, ticket PDFs) produced by any process."""
