//! Examples of the main operations' requests and answers, as the service gave them over the demo
//! data (docs/demo-data.md): the files of `src/http/openapi/examples/`, named
//! `<operationId>.request.json` or `<operationId>.<status>.json`.

use serde_json::Value;
use utoipa::Modify;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Operation;

/// Each example: the operation, `request` or the answer's status, and the JSON.
const EXAMPLES: [(&str, &str, &str); 10] = [
    (
        "list_upgrade_options",
        "200",
        include_str!("examples/list_upgrade_options.200.json"),
    ),
    (
        "perform_upgrade",
        "request",
        include_str!("examples/perform_upgrade.request.json"),
    ),
    (
        "perform_upgrade",
        "200",
        include_str!("examples/perform_upgrade.200.json"),
    ),
    (
        "change_subscription",
        "request",
        include_str!("examples/change_subscription.request.json"),
    ),
    (
        "change_subscription",
        "200",
        include_str!("examples/change_subscription.200.json"),
    ),
    (
        "buy_add_on",
        "request",
        include_str!("examples/buy_add_on.request.json"),
    ),
    (
        "buy_add_on",
        "201",
        include_str!("examples/buy_add_on.201.json"),
    ),
    (
        "create_job",
        "request",
        include_str!("examples/create_job.request.json"),
    ),
    (
        "create_job",
        "202",
        include_str!("examples/create_job.202.json"),
    ),
    ("get_job", "200", include_str!("examples/get_job.200.json")),
];

/// Puts each example on its operation's request body or answer.
pub struct Examples;

impl Modify for Examples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                attach(operation);
            }
        }
    }
}

/// Attaches the operation's examples.
fn attach(operation: &mut Operation) {
    let Some(id) = operation.operation_id.clone() else {
        return;
    };
    for (_, place, text) in EXAMPLES.iter().filter(|(of, _, _)| *of == id) {
        let Ok(example) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let contents = if *place == "request" {
            match operation.request_body.as_mut() {
                Some(RefOr::T(body)) => body.content.get_mut("application/json"),
                _ => None,
            }
        } else {
            match operation.responses.responses.get_mut(*place) {
                Some(RefOr::T(response)) => response.content.get_mut("application/json"),
                _ => None,
            }
        };
        if let Some(RefOr::T(content)) = contents {
            content.example = Some(example);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example is JSON and lands on its operation.
    #[test]
    fn every_example_is_json_and_attached() {
        let document: Value = serde_json::from_str(&super::super::document_json()).unwrap();
        let mut attached = 0;
        for item in document["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                let request = &operation["requestBody"]["content"]["application/json"]["example"];
                attached += usize::from(!request.is_null());
                for answer in operation["responses"].as_object().into_iter().flatten() {
                    let example = &answer.1["content"]["application/json"]["example"];
                    attached += usize::from(!example.is_null());
                }
            }
        }
        for (operation, place, text) in EXAMPLES {
            assert!(
                serde_json::from_str::<Value>(text).is_ok(),
                "{operation} {place}"
            );
        }
        assert_eq!(attached, EXAMPLES.len());
    }
}
