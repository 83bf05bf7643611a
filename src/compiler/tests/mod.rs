//! Compiler tests with file fixtures under `src/compiler/tests/data/`.

mod parse;
