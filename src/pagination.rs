//! Page requests and pages, shared by every list.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 500;

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageRequest {
    #[serde(default = "first_page")]
    pub page: i64,
    #[serde(default = "default_per_page")]
    pub per_page: i64,
}

fn first_page() -> i64 {
    1
}
fn default_per_page() -> i64 {
    DEFAULT_PER_PAGE
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    pub fn validate(self) -> Result<Self, crate::error::AppError> {
        let mut errors = Vec::new();
        if self.page < 1 {
            errors.push(crate::error::FieldError::new("page", "页码从 1 开始"));
        }
        if !(1..=MAX_PER_PAGE).contains(&self.per_page) {
            errors.push(crate::error::FieldError::new(
                "per_page",
                format!("每页条数应在 1 到 {MAX_PER_PAGE} 之间"),
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(crate::error::AppError::validation(errors))
        }
    }

    pub fn limit(&self) -> i64 {
        self.per_page
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    pub fn page<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}
