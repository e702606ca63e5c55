//! The README's generated sections, for tests: a section between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
//! must equal the table the code generates; `UPDATE_SNAPSHOTS=1` rewrites it instead of failing.

/// Checks that the README's section `name` is `table`, or rewrites it when `UPDATE_SNAPSHOTS` is set.
/// `what` names the table in the failure message ("stream table").
pub(crate) fn check_section(name: &str, table: &str, what: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (begin, end) = (
        format!("<!-- {name}:begin -->\n"),
        format!("<!-- {name}:end -->"),
    );
    let (Some(a), Some(b)) = (readme.find(&begin), readme.find(&end)) else {
        panic!("README.md lacks the {begin:?} … {end:?} markers");
    };
    if readme[a + begin.len()..b] != *table {
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            let new = format!("{}{table}{}", &readme[..a + begin.len()], &readme[b..]);
            std::fs::write(path, new).unwrap();
        } else {
            panic!("README.md's {what} is stale; run UPDATE_SNAPSHOTS=1 cargo test --lib");
        }
    }
}
