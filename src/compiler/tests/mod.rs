//! Compiler tests with file fixtures under `src/compiler/tests/data/`.

mod check;
mod parse;
