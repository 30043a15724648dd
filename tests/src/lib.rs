//! End-to-end tests of fieldlead live in `tests/tests/`: they drive the real tablet
//! core and check its output the way the district bureau will. This library is empty
//! on purpose; it only gives the tests a package to belong to.
