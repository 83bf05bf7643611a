//! `POST /management/packages`: a zip upload becomes a package directory of the deploy dir.

use bpelgate_transports::http::{HttpRequest, HttpResponse};
use hyper::StatusCode;
use hyper::header::{HeaderValue, LOCATION};

use super::{Management, error, json};
use crate::deploy::archive::{self, ArchiveError};
use crate::deploy::{Error as DeployError, valid_package_name};

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error("cannot create the deploy directory {path}: {source}")]
    DeployDir {
        path: String,
        source: std::io::Error,
    },
}

impl UploadError {
    fn status(&self) -> StatusCode {
        match self {
            UploadError::Archive(ArchiveError::TooLarge(_) | ArchiveError::TooManyEntries(_)) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            UploadError::Archive(e) if e.is_client_error() => StatusCode::BAD_REQUEST,
            UploadError::Deploy(DeployError::InvalidName(_)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The value of query parameter `key`, percent-decoded (`+` is a space).
pub(super) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Management {
    /// Unpacks the uploaded zip into the deploy dir (staged under a hidden name, then renamed),
    /// lets the deployer scan, and answers 202 with the package's JSON and its location.
    pub(super) async fn upload(&self, req: &HttpRequest) -> HttpResponse {
        if req.body.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "the request body must be the package as a zip archive",
            );
        }
        let name = query_param(req.query.as_deref(), "name").filter(|n| !n.is_empty());
        if let Some(n) = &name
            && !valid_package_name(n)
        {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("'{n}' is not a valid package name"),
            );
        }
        let deployer = self.deployer.clone();
        let body = req.body.clone();
        let limits = self.archive_limits;
        let outcome = tokio::task::spawn_blocking(move || -> Result<String, UploadError> {
            let dir = deployer.deploy_dir();
            std::fs::create_dir_all(dir).map_err(|source| UploadError::DeployDir {
                path: dir.display().to_string(),
                source,
            })?;
            let (name, staged) = archive::unpack(&body, name.as_deref(), dir, &limits)?;
            if let Err(e) = deployer.install_dir(&name, &staged) {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(e.into());
            }
            // Deploy now rather than at the next tick, so the answer can say how it went.
            deployer.scan();
            Ok(name)
        })
        .await;
        let name = match outcome {
            Ok(Ok(name)) => name,
            Ok(Err(e)) => return error(e.status(), &e.to_string()),
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("the upload did not finish: {e}"),
                );
            }
        };
        let location = format!("/management/packages/{name}");
        let mut body = match self.deployer.registry().package(&name) {
            Some(info) => serde_json::to_value(&info).unwrap_or_default(),
            None => serde_json::json!({ "name": name }),
        };
        if let Some(obj) = body.as_object_mut() {
            obj.insert("location".into(), location.clone().into());
        }
        let mut r = json(StatusCode::ACCEPTED, &body);
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers.insert(LOCATION, v);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            query_param(Some("a=1&name=My%20Pkg"), "name").as_deref(),
            Some("My Pkg")
        );
        assert_eq!(
            query_param(Some("name=a+b"), "name").as_deref(),
            Some("a b")
        );
        assert_eq!(
            query_param(Some("name=100%"), "name").as_deref(),
            Some("100%")
        );
        assert_eq!(query_param(Some("other=1"), "name"), None);
        assert_eq!(query_param(None, "name"), None);
    }
}
