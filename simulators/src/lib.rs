//! The iochub simulators: the simulated province of Cao Bằng and the paced load generator.

pub mod load;
pub mod province;
