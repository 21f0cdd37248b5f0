//! HTTP: `option forwardfor`, header rules, redirects, conditions on `ssl_fc`.

use super::{assert_clean, assert_note, import, listen, vip};
use crate::import::NoteKind;
use crate::model::{HeaderRule, PathMatch, Redirect, RedirectTarget};

/// An http `listen` with a checked server; `rules` from line 11.
fn http(rules: &str) -> crate::import::Import {
    import(&listen(&format!(
        "  mode http\n  option forwardfor\n  server a 192.0.2.11:80 check\n{rules}"
    )))
}

#[test]
fn header_rules_become_lbs() {
    let import = http(
        "  http-request set-header X-Frame-Options DENY\n  http-request del-header X-Debug\n  \
         http-request add-header X-Percent 100%%\n  \
         http-response set-header Strict-Transport-Security \"max-age=31536000\"\n",
    );
    assert_clean(&import);
    let web = &vip(&import, "web").http;
    assert_eq!(
        web.request_headers,
        [
            HeaderRule::Set {
                name: "X-Frame-Options".into(),
                value: "DENY".into()
            },
            HeaderRule::Delete {
                name: "X-Debug".into()
            },
            HeaderRule::Add {
                name: "X-Percent".into(),
                value: "100%".into()
            },
        ]
    );
    assert_eq!(
        web.response_headers,
        [HeaderRule::Set {
            name: "Strict-Transport-Security".into(),
            value: "max-age=31536000".into()
        }]
    );
}

#[test]
fn computed_values_other_actions_and_conditions_are_noted() {
    let import = http(
        "  http-request set-header X-Forwarded-Port %[dst_port]\n  \
         http-request set-header X-Client %[src]\n  http-request deny if { src 10.0.0.0/8 }\n  \
         http-request set-header X-A 1 if { path_beg /a }\n",
    );
    assert_note(
        &import,
        11,
        NoteKind::LeftOut,
        "lb sets X-Forwarded-Port itself",
    );
    assert_note(&import, 12, NoteKind::LeftOut, "computed per request");
    assert_note(&import, 13, NoteKind::LeftOut, "lb has no `deny` action");
    assert_note(
        &import,
        14,
        NoteKind::LeftOut,
        "lb cannot follow the condition `if { path_beg /a }`",
    );
    assert!(vip(&import, "web").http.request_headers.is_empty());
}

#[test]
fn redirect_scheme_https_with_haproxys_default_code() {
    let import = http("  redirect scheme https\n  http-request redirect location /new code 308\n");
    assert_clean(&import);
    let redirect = |to, status| Redirect {
        path: PathMatch::Prefix("/".into()),
        to,
        status,
    };
    assert_eq!(
        vip(&import, "web").http.redirects,
        [
            redirect(RedirectTarget::Https { port: None }, 302),
            redirect(RedirectTarget::Location("/new".into()), 308),
        ]
    );
    let import = http("  redirect prefix /x\n  redirect scheme https code 301 drop-query\n");
    assert_note(&import, 11, NoteKind::LeftOut, "nothing else");
    assert_note(&import, 12, NoteKind::LeftOut, "no `drop-query` option");
}

#[test]
fn rules_on_ssl_fc_land_on_the_vip_where_they_hold() {
    let import = http(
        "  bind 192.0.2.1:443 ssl crt /etc/pki/web.pem\n  \
         http-request set-header X-Forwarded-Proto https if { ssl_fc }\n  \
         http-request set-header X-Forwarded-Proto http if !{ ssl_fc }\n  \
         redirect scheme https code 301 if !{ ssl_fc }\n",
    );
    let set = |value: &str| HeaderRule::Set {
        name: "X-Forwarded-Proto".into(),
        value: value.into(),
    };
    let cleartext = &vip(&import, "web").http;
    assert_eq!(cleartext.request_headers, [set("http")]);
    assert_eq!(cleartext.redirects.len(), 1);
    let tls = &vip(&import, "web-tls").http;
    assert_eq!(tls.request_headers, [set("https")]);
    assert!(tls.redirects.is_empty());
}

#[test]
fn forwarding_headers_without_option_forwardfor_and_http_rules_on_tcp_are_noted() {
    let import = import(&listen("  mode http\n  server a 192.0.2.11:80 check\n"));
    assert_note(
        &import,
        6,
        NoteKind::Approximated,
        "no `option forwardfor`: lb adds X-Forwarded-For",
    );
    let import = super::import(&listen(
        "  option forwardfor except 127.0.0.1\n  mode http\n  server a 192.0.2.11:80 check\n",
    ));
    assert_note(
        &import,
        8,
        NoteKind::Approximated,
        "lb always appends the client",
    );
    let import = super::import(&listen(
        "  http-request set-header X-A 1\n  server a 192.0.2.11:80 check\n",
    ));
    assert_note(&import, 8, NoteKind::LeftOut, "no effect on a tcp VIP");
}
