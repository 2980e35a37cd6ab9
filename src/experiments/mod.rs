//! The paper's experiments: the engine gives maps, an experiment turns them into numbers. The page
//! and the command line call the same code.

pub mod occlusion;
