//! Unit tests of the registry and the published schemas.

mod structural;
