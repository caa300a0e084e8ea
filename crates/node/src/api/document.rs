//! Completes the OpenAPI document with the answers every route shares, so that it lists
//! every status the server can return: 429 from the rate limiter on every route, 400 on
//! every route that takes parameters (a path segment or query that does not parse), 413,
//! 415 and 400 on every route that takes a JSON body, 413 on every other body, and 503
//! on state reads (the state at the asked height cannot be read now). All are
//! [`ErrorBody`](atoll_client::model::ErrorBody) answers. And a parameter that is a `u64`
//! (heights, rounds, ids) says so: format `uint64` up to 2⁶⁴ − 1, where utoipa writes the
//! signed `int64`, whose maximum the server does not enforce.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{KnownFormat, Ref, SchemaFormat};
use utoipa::openapi::{OpenApi, RefOr, Response, ResponseBuilder, Schema};
use utoipa::Number;

fn error(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
        .into()
}

fn add(operation: &mut Operation, status: &str, description: &str) {
    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description));
}

/// Marks a parameter's unsigned 64-bit integer schema (`int64`, minimum 0) as `uint64`.
fn unsigned(schema: &mut RefOr<Schema>) {
    let RefOr::T(Schema::Object(object)) = schema else { return };
    let int64 = matches!(object.format, Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
    let from_zero = match object.minimum {
        Some(Number::UInt(0) | Number::Int(0)) => true,
        Some(Number::Float(minimum)) => minimum == 0.0,
        _ => false,
    };
    if int64 && from_zero {
        object.format = Some(SchemaFormat::Custom("uint64".into()));
        object.maximum = Some(Number::UInt(u64::MAX as usize));
    }
}

fn complete_operation(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if let Some(schema) = parameter.schema.as_mut() {
            unsigned(schema);
        }
    }
    add(operation, "429", "too many requests from this address; slow down");
    if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        add(operation, "400", "a parameter does not parse");
    }
    if let Some(body) = &operation.request_body {
        let json = body.content.contains_key("application/json");
        add(operation, "413", "body larger than the node's api.max_body_bytes");
        if json {
            add(operation, "400", "the body is not the JSON this route takes");
            add(operation, "415", "the body is not application/json");
        }
    }
    if operation.tags.as_ref().is_some_and(|tags| tags.iter().any(|t| t == "state")) {
        add(operation, "503", "the state cannot be read now");
    }
}

/// Adds the shared answers to every operation of `document`.
pub(super) fn complete(document: &mut OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(operation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_the_shared_answers_and_u64_parameters_are_unsigned() {
        let document = super::super::openapi();
        let mut u64_parameters = 0;
        for (path, item) in &document.paths.paths {
            let operations = [&item.get, &item.post];
            for operation in operations.into_iter().flatten() {
                let statuses = &operation.responses.responses;
                assert!(statuses.contains_key("429"), "{path}: 429");
                if operation.request_body.is_some() {
                    assert!(statuses.contains_key("413"), "{path}: 413");
                }
                for parameter in operation.parameters.iter().flatten() {
                    let Some(RefOr::T(Schema::Object(object))) = &parameter.schema else {
                        continue;
                    };
                    assert!(
                        !matches!(
                            object.format,
                            Some(SchemaFormat::KnownFormat(KnownFormat::Int64))
                        ),
                        "{path}: {} is still a signed int64",
                        parameter.name
                    );
                    if matches!(&object.format, Some(SchemaFormat::Custom(f)) if f == "uint64") {
                        u64_parameters += 1;
                    }
                }
            }
        }
        assert!(u64_parameters >= 5, "heights, rounds and ids: {u64_parameters}");
    }
}
