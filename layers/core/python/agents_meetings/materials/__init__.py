"""Course materials (spec 1.3): uploads to their own bucket, extracted text, search documents."""
