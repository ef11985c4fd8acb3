//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4).

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::http::json_response;
use super::{Ctx, ScimService};
use crate::error::ScimError;
use crate::schema::discovery::{self, Capabilities};

/// Answers a discovery request, or `None` if the path names no discovery endpoint.
pub(super) fn answer(
    svc: &ScimService,
    ctx: &Ctx,
    method: &Method,
    endpoint: &str,
    item: Option<&str>,
) -> Option<Result<Response<Bytes>, ScimError>> {
    let base = &ctx.locations.base;
    let document = if endpoint.eq_ignore_ascii_case("ServiceProviderConfig") {
        item.is_none().then(|| {
            let config = &svc.inner.config;
            Some(discovery::service_provider_config(
                base,
                &Capabilities {
                    patch: true,
                    max_results: config.max_page_size,
                    default_page_size: config.default_page_size,
                },
            ))
        })?
    } else if endpoint.eq_ignore_ascii_case("Schemas") {
        let declared = ctx.extensions.all();
        match item {
            None => Some(discovery::schema_list(
                base,
                svc.inner.config.email_policy,
                declared,
            )),
            Some(urn) => discovery::schema(base, urn, svc.inner.config.email_policy, declared),
        }
    } else if endpoint.eq_ignore_ascii_case("ResourceTypes") {
        match item {
            None => Some(discovery::resource_type_list(base, ctx.extensions.all())),
            Some(name) => discovery::resource_type(base, name, ctx.extensions.all()),
        }
    } else {
        return None;
    };
    if method != Method::GET {
        return Some(Err(ScimError::status(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("/{endpoint} is read-only: use GET"),
        )));
    }
    Some(match document {
        Some(doc) => Ok(json_response(StatusCode::OK, &doc)),
        None => Err(ScimError::not_found(format!(
            "no {endpoint} entry named `{}`",
            item.unwrap_or("")
        ))),
    })
}
