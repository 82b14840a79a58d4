//! The dashboard for operators: server-rendered HTML pages.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};

use super::response::{ok_with, ApiError, Body};
use super::AppState;
use crate::auth::User;

pub async fn index(
    _state: &Arc<AppState>,
    _request: &Request<Incoming>,
    _user: &User,
) -> Result<Response<Body>, ApiError> {
    Ok(ok_with(
        "text/html; charset=utf-8",
        "<!doctype html><title>translog</title>",
    ))
}

pub async fn transaction(
    _state: &Arc<AppState>,
    _raw_id: &str,
) -> Result<Response<Body>, ApiError> {
    Err(ApiError::NoSuchLog)
}
