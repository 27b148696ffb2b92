//! The page's components: small, typed, and free of protocol logic.

mod app;
mod server_card;

pub use app::App;
pub use server_card::ServerCard;
