//! The iochub simulators: the simulated province of Cao Bằng (its stations and its cameras) and the
//! paced load generator.

pub mod cameras;
pub mod load;
pub mod province;
pub mod viewers;
