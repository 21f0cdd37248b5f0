//! A VIP's request and response rules (see [`lb_core::model::HttpOptions`]): redirects the
//! proxy answers itself, path rewrites, and header rules.
//!
//! A redirect to HTTPS keeps the request's host (from `Host`, without its port), path and
//! query, and adds the configured port if any. A rewrite keeps the query; a rewritten path
//! that is not a valid request target leaves the request unchanged (and is logged). Header
//! rules with a name or value that is not valid HTTP (only possible for a VIP built in code)
//! are dropped when the VIP starts, with a log line.

use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use lb_core::model::{HeaderRule, HttpOptions, PathMatch, PathRewrite, Redirect, RedirectTarget};
use tracing::warn;

use super::ProxyBody;

/// One header rule, checked.
#[derive(Debug)]
enum Rule {
    Add(HeaderName, HeaderValue),
    Set(HeaderName, HeaderValue),
    Delete(HeaderName),
}

/// The rules of one VIP.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    request: Vec<Rule>,
    response: Vec<Rule>,
    rewrites: Vec<PathRewrite>,
    redirects: Vec<Redirect>,
}

impl Rules {
    /// The rules of VIP `vip`.
    pub(crate) fn new(vip: &str, options: &HttpOptions) -> Self {
        Rules {
            request: checked(vip, &options.request_headers),
            response: checked(vip, &options.response_headers),
            rewrites: options.rewrites.clone(),
            redirects: options.redirects.clone(),
        }
    }

    /// The redirect answering a request for `uri` with `headers`, if one matches.
    pub(crate) fn redirect(&self, uri: &Uri, headers: &HeaderMap) -> Option<Response<ProxyBody>> {
        let redirect = self
            .redirects
            .iter()
            .find(|redirect| matches(&redirect.path, uri.path()))?;
        let location = match &redirect.to {
            RedirectTarget::Location(location) => location.clone(),
            RedirectTarget::Https { port } => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|host| host.to_str().ok())
                    .or_else(|| uri.host())?;
                let port = port.map(|port| format!(":{port}")).unwrap_or_default();
                let target = uri.path_and_query().map_or("/", PathAndQuery::as_str);
                format!("https://{}{port}{target}", without_port(host))
            }
        };
        let location = HeaderValue::try_from(location).ok()?;
        let status = StatusCode::from_u16(redirect.status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
        let body = Full::new(Bytes::from(format!(
            "{} {}\n",
            status.as_u16(),
            location.to_str().unwrap_or_default()
        )));
        let mut response = Response::new(body.map_err(|never| match never {}).boxed_unsync());
        *response.status_mut() = status;
        response.headers_mut().insert(header::LOCATION, location);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Some(response)
    }

    /// Rewrites the path of `uri` by the first rewrite that matches.
    pub(crate) fn rewrite(&self, vip: &str, uri: &mut Uri) {
        let path = uri.path();
        let Some(rewrite) = self.rewrites.iter().find(|r| matches(&r.path, path)) else {
            return;
        };
        let rewritten = match &rewrite.path {
            PathMatch::Exact(_) => rewrite.replace.clone(),
            PathMatch::Prefix(prefix) => format!("{}{}", rewrite.replace, &path[prefix.len()..]),
            PathMatch::Regex(regex) => regex
                .regex()
                .replacen(path, 1, rewrite.replace.as_str())
                .into_owned(),
        };
        let target = match uri.query() {
            Some(query) => format!("{rewritten}?{query}"),
            None => rewritten,
        };
        match PathAndQuery::try_from(target.as_str()) {
            Ok(target) if target.as_str().starts_with('/') => *uri = Uri::from(target),
            _ => warn!(%vip, path, %target, "rewritten path is not a valid target: left as it was"),
        }
    }

    /// Applies the request header rules.
    pub(crate) fn on_request(&self, headers: &mut HeaderMap) {
        apply(&self.request, headers);
    }

    /// Whether any rule reads or changes requests: header rules, rewrites, redirects.
    pub(crate) fn change_requests(&self) -> bool {
        !self.request.is_empty() || !self.rewrites.is_empty() || !self.redirects.is_empty()
    }

    /// Whether any rule changes response fields.
    pub(crate) fn change_responses(&self) -> bool {
        !self.response.is_empty()
    }

    /// Applies the response header rules.
    pub(crate) fn on_response(&self, headers: &mut HeaderMap) {
        apply(&self.response, headers);
    }
}

fn matches(path_match: &PathMatch, path: &str) -> bool {
    match path_match {
        PathMatch::Exact(exact) => path == exact,
        PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
        PathMatch::Regex(regex) => regex.regex().is_match(path),
    }
}

/// `host` without a trailing `:port` (an IPv6 literal keeps its brackets).
fn without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

fn apply(rules: &[Rule], headers: &mut HeaderMap) {
    for rule in rules {
        match rule {
            Rule::Add(name, value) => {
                headers.append(name, value.clone());
            }
            Rule::Set(name, value) => {
                headers.insert(name, value.clone());
            }
            Rule::Delete(name) => {
                headers.remove(name);
            }
        }
    }
}

fn checked(vip: &str, rules: &[HeaderRule]) -> Vec<Rule> {
    rules
        .iter()
        .filter_map(|rule| {
            let name = HeaderName::try_from(rule.name()).ok();
            let value = |value: &str| HeaderValue::try_from(value).ok();
            let checked = match rule {
                HeaderRule::Add { value: v, .. } => Some(Rule::Add(name?, value(v)?)),
                HeaderRule::Set { value: v, .. } => Some(Rule::Set(name?, value(v)?)),
                HeaderRule::Delete { .. } => Some(Rule::Delete(name?)),
            };
            if checked.is_none() {
                warn!(%vip, ?rule, "header rule with an invalid name or value: dropped");
            }
            checked
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::model::PathRegex;

    fn rules() -> Rules {
        let options = HttpOptions {
            rewrites: vec![
                PathRewrite {
                    path: PathMatch::Prefix("/old/".into()),
                    replace: "/new/".into(),
                },
                PathRewrite {
                    path: PathMatch::Regex(PathRegex::new("^/v1/(.*)$").unwrap()),
                    replace: "/v2/$1".into(),
                },
            ],
            redirects: vec![
                Redirect {
                    path: PathMatch::Exact("/".into()),
                    to: RedirectTarget::Location("/dashboard".into()),
                    status: 302,
                },
                Redirect {
                    path: PathMatch::Prefix("/".into()),
                    to: RedirectTarget::Https { port: None },
                    status: 301,
                },
            ],
            ..HttpOptions::default()
        };
        Rules::new("web", &options)
    }

    #[test]
    fn rewrites_keep_the_query() {
        let rules = rules();
        for (from, to) in [
            ("/old/a?x=1", "/new/a?x=1"),
            ("/v1/b/c", "/v2/b/c"),
            ("/other", "/other"),
        ] {
            let mut uri: Uri = from.parse().unwrap();
            rules.rewrite("web", &mut uri);
            assert_eq!(uri, to);
        }
    }

    #[test]
    fn redirects_to_https_keep_host_path_and_query() {
        let rules = rules();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("horizon.example:80"));
        let response = rules
            .redirect(&"/project/?a=b".parse().unwrap(), &headers)
            .unwrap();
        assert_eq!(response.status(), 301);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://horizon.example/project/?a=b"
        );
        let root = rules.redirect(&"/".parse().unwrap(), &headers).unwrap();
        assert_eq!(root.status(), 302);
        assert_eq!(root.headers()[header::LOCATION], "/dashboard");
        assert_eq!(without_port("[2001:db8::1]:80"), "[2001:db8::1]");
        assert_eq!(without_port("[2001:db8::1]"), "[2001:db8::1]");
    }
}
