//! The workshop and board model: Y.Doc schema, templates and exports. No IO.
