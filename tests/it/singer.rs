//! Singer tap mode tests (filled in by the Singer/Meltano work).
