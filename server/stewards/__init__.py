"""The stewards' pages: sign-in for token holders, forms from the shapes with live validation, review
of proposals before publishing (``/steward/…``)."""
