//! Record types for every Okta stream (placeholder; see issue 3).
