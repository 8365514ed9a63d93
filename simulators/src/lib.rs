pub mod load;
pub mod province;
