//! The admin REST API over real HTTP: authentication, full-replace PUTs,
//! per-version secrets and shapes, the preview, and its consistency with the
//! login flow.

use super::*;

const KEY: &str = "adminKey0123456789abcdefABCDEF01";

impl Http {
    fn api(&self, method: &str, url: &str, key: Option<&str>, body: Option<&Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.request(m, url);
        if let Some(k) = key {
            rb = rb.header("X-API-Key", k);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.send(rb)
    }
}

struct Admin {
    e: Emulator,
    http: Http,
}

impl Admin {
    fn start(cfg: Config) -> Admin {
        Admin {
            e: Emulator::start(cfg.with_admin_api_key(KEY)).unwrap(),
            http: Http::new(),
        }
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.e.issuer())
    }
    fn get(&self, path: &str) -> Resp {
        self.http.api("GET", &self.url(path), Some(KEY), None)
    }
    fn send(&self, method: &str, path: &str, body: Value) -> Resp {
        self.http
            .api(method, &self.url(path), Some(KEY), Some(&body))
    }
    /// A full code flow for `client_id`/`secret`: the token response.
    fn login(&self, client_id: &str, secret: &str, scope: &str) -> Resp {
        let r = self.http.get(&authorize_url(
            &self.e,
            &[("client_id", client_id), ("scope", scope)],
        ));
        assert_eq!(r.status, 303, "{}", r.location());
        let code = param(&r.location(), "code").expect("code");
        self.http.post_form(
            &format!("{}/api/oidc/token", self.e.internal_url()),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
            ],
            Some(&format!("{client_id}:{secret}")),
        )
    }
}

fn versioned(version: &str) -> Config {
    Config::for_version(version)
}

#[test]
fn admin_authentication_rules() {
    let mut cfg = Config::default();
    cfg.users.push(User::new("bob", Some("bob@example.com")));
    cfg.users
        .push(User::new("carol", Some("carol@example.com")));
    cfg.admins.push("carol".into());
    cfg.disabled_users.push("carol".into());
    cfg.api_keys = vec![
        ApiKey::new("bobKey", "bob"),
        ApiKey::new("carolKey", "carol"),
        ApiKey {
            expired: true,
            ..ApiKey::new("oldKey", ADMIN_USERNAME)
        },
    ];
    let a = Admin::start(cfg);
    let me = a.get("/api/users/me");
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["username"], ADMIN_USERNAME);
    assert_eq!(me.json()["isAdmin"], true);
    assert_eq!(me.header("x-request-id").len(), 36);

    let url = a.url("/api/oidc/clients/romm");
    for key in [None, Some("wrong"), Some("oldKey")] {
        let r = a.http.api("GET", &url, key, None);
        assert_eq!(r.status, 401, "{key:?}");
        let body = r.json();
        assert_eq!(body["code"], "not_signed_in");
        assert_eq!(body["error"], "You are not signed in");
        assert_eq!(
            body["request_id"].as_str().unwrap(),
            r.header("x-request-id")
        );
        assert_eq!(keys_in_order(&r.body), ["error", "code", "request_id"]);
    }
    // A non-admin's key: its own account yes, admin routes no.
    let r = a.http.api("GET", &url, Some("bobKey"), None);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (403, json!("forbidden"))
    );
    assert_eq!(
        r.json()["error"],
        "You don't have permission to perform this action"
    );
    let r = a
        .http
        .api("GET", &a.url("/api/users/me"), Some("bobKey"), None);
    assert_eq!((r.status, r.json()["isAdmin"].clone()), (200, json!(false)));
    // A disabled owner, even an admin, is refused everywhere.
    let r = a
        .http
        .api("GET", &a.url("/api/users/me"), Some("carolKey"), None);
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (403, json!("user_disabled"))
    );
    // Header names are case-insensitive.
    for name in ["x-api-key", "X-API-KEY"] {
        let r = a.http.get_with(&url, (name, KEY));
        assert_eq!(r.status, 200, "{name}");
    }
    // An unknown route is gin's NoRoute whatever the key.
    let r = a.http.api("GET", &a.url("/api/nope"), None, None);
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"error":"API endpoint not found"}"#)
    );

    // Before v2.13: only {"error"}, no request id.
    let old = Admin::start(versioned("2.12.0"));
    let r = old
        .http
        .api("GET", &old.url("/api/users/me"), Some("nope"), None);
    assert_eq!(r.status, 401);
    assert_eq!(r.body, r#"{"error":"You are not signed in"}"#);
    assert!(r.headers.get("x-request-id").is_none());
    let r = old.get("/api/oidc/clients/missing");
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"error":"Record not found"}"#)
    );
}

#[test]
fn version_endpoint_exists_from_2_3() {
    let a = Admin::start(Config::default());
    let r = a.get("/api/version/current");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"{"currentVersion":"2.14.0"}"#)
    );
    for (version, want) in [
        ("2.3.0", 200),
        ("2.9.0", 200),
        ("2.2.0", 404),
        ("1.16.0", 404),
    ] {
        let a = Admin::start(versioned(version));
        let r = a.get("/api/version/current");
        assert_eq!(r.status, want, "{version}");
        if want == 404 {
            assert_eq!(r.body, r#"{"error":"API endpoint not found"}"#);
        } else {
            assert_eq!(r.json()["currentVersion"], version);
        }
    }
    let legacy = Admin::start(Config {
        profile: Profile::Legacy,
        ..Config::default()
    });
    assert_eq!(legacy.e.version(), "2.9.0");
}

#[test]
fn client_put_is_a_full_replace() {
    let mut cfg = Config::default();
    cfg.users[0].groups = vec!["gamers".into()];
    {
        let c = &mut cfg.clients[0];
        c.callback_urls.push("http://127.0.0.1/callback".into());
        c.skip_consent = true;
        c.is_group_restricted = true;
        c.allowed_user_groups = vec!["gamers".into()];
        c.description = "ROMs".into();
    }
    let a = Admin::start(cfg);
    let got = a.get("/api/oidc/clients/romm");
    assert_eq!(got.status, 200);
    let dto = got.json();
    assert_eq!(
        keys_in_order(&got.body),
        [
            "id",
            "name",
            "description",
            "hasLogo",
            "hasDarkLogo",
            "launchURL",
            "requiresReauthentication",
            "clientType",
            "callbackURLs",
            "logoutCallbackURLs",
            "isPublic",
            "pkceEnabled",
            "requiresPushedAuthorizationRequests",
            "skipConsent",
            "credentials",
            "isGroupRestricted",
            "accessTokenDurationMinutes",
            "refreshTokenDurationMinutes",
            "allowedUserGroups"
        ]
    );
    assert_eq!(dto["allowedUserGroups"][0]["name"], "gamers");
    assert_eq!(dto["allowedUserGroups"][0]["userCount"], 1);
    assert_eq!(dto["credentials"]["secrets"][0]["prefix"], "");

    // A careless PUT with only the name wipes everything else…
    let r = a.send("PUT", "/api/oidc/clients/romm", json!({"name": "RomM"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let c = a.e.client("romm").unwrap();
    assert!(c.callback_urls.is_empty());
    assert!(!c.skip_consent && !c.is_group_restricted && c.description.is_empty());
    assert!(
        c.allowed_user_groups.is_empty(),
        "lifting the restriction drops the groups"
    );
    assert_eq!(r.json()["callbackURLs"], json!([]));
    // …but never the secret.
    assert!(a.e.secret_is_valid("romm", DEFAULT_CLIENT_SECRET));

    // A GET-modify-PUT keeps what it sends; isPublic forces pkceEnabled.
    let r = a.send(
        "PUT",
        "/api/oidc/clients/romm",
        json!({"name": "RomM", "callbackURLs": [CB], "isPublic": true, "skipConsent": true}),
    );
    assert_eq!(r.json()["pkceEnabled"], true);
    assert_eq!(r.json()["skipConsent"], true);
    assert_eq!(a.e.callback_urls("romm"), [CB]);

    // Validation: name required, callback URLs are patterns with a scheme.
    let r = a.send(
        "PUT",
        "/api/oidc/clients/romm",
        json!({"callbackURLs": [CB]}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "validation_failed");
    assert_eq!(r.json()["details"]["fields"][0]["field"], "name");
    let r = a.send(
        "PUT",
        "/api/oidc/clients/romm",
        json!({"name": "RomM", "callbackURLs": ["romm.example.com/cb"]}),
    );
    assert_eq!(r.status, 400);
    let r = a.send("PUT", "/api/oidc/clients/nope", json!({"name": "x"}));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "not_found");
    assert_eq!(r.json()["error"], "OIDC client not found");
    // v2.13+: a body must be sent as JSON.
    let r = a.http.send(
        a.http
            .client
            .put(a.url("/api/oidc/clients/romm"))
            .header("X-API-Key", KEY)
            .body(r#"{"name":"RomM"}"#),
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (400, json!("invalid_request_body"))
    );
}

#[test]
fn fields_unknown_to_a_version_are_ignored() {
    let a = Admin::start(versioned("2.9.0"));
    let r = a.send(
        "PUT",
        "/api/oidc/clients/romm",
        json!({"name": "RomM", "callbackURLs": [CB], "skipConsent": true, "description": "x",
               "requiresPushedAuthorizationRequests": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let dto = r.json();
    assert!(dto.get("skipConsent").is_none() && dto.get("description").is_none());
    assert!(dto.get("clientType").is_none() && dto.get("accessTokenDurationMinutes").is_none());
    assert_eq!(dto["requiresPushedAuthorizationRequests"], true);
    assert_eq!(dto["isGroupRestricted"], false);
    let c = a.e.client("romm").unwrap();
    assert!(!c.skip_consent && c.description.is_empty());
    // v1.x has no restriction flag: a non-empty group list restricts by itself.
    let mut cfg = versioned("1.16.0");
    cfg.clients[0].allowed_user_groups = vec!["gamers".into()];
    let a = Admin::start(cfg);
    let dto = a.get("/api/oidc/clients/romm").json();
    assert!(dto.get("isGroupRestricted").is_none());
    assert!(dto.get("requiresPushedAuthorizationRequests").is_none());
    let r = a.get(&format!(
        "/api/oidc/clients/romm/preview/{DEFAULT_USER_ID}?scopes=openid"
    ));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        r#"{"error":"You're not allowed to access this service"}"#
    );
}

#[test]
fn created_client_logs_in_with_its_new_secret() {
    let a = Admin::start(Config::default());
    let r = a.send(
        "POST",
        "/api/oidc/clients",
        json!({"name": "RomM 2", "callbackURLs": [CB], "isPublic": false, "pkceEnabled": false}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID");
    assert_eq!(r.json()["credentials"]["secrets"], Value::Null);
    // No secret yet: nothing authenticates.
    assert_eq!(a.login(&id, "", "openid").status, 401);

    let s1 = a.send(
        "POST",
        &format!("/api/oidc/clients/{id}/secrets"),
        json!({}),
    );
    assert_eq!(s1.status, 201, "{}", s1.body);
    assert_eq!(
        keys_in_order(&s1.body),
        [
            "id",
            "prefix",
            "createdAt",
            "expiresAt",
            "isActive",
            "secret"
        ]
    );
    let secret1 = s1.json()["secret"].as_str().unwrap().to_string();
    assert_eq!(secret1.len(), 32);
    assert_eq!(s1.json()["prefix"], secret1[..4]);
    assert_eq!(s1.json()["expiresAt"], Value::Null);
    let t = a.login(&id, &secret1, "openid email");
    assert_eq!(t.status, 200, "{}", t.body);

    // v2.14 adds: both secrets work until the old one is deleted.
    let s2 = a.send(
        "POST",
        &format!("/api/oidc/clients/{id}/secrets"),
        json!({"secret": "my-own-secret-0123456789", "expiresAt": "2999-01-01T00:00:00Z"}),
    );
    assert_eq!(s2.status, 201);
    assert_eq!(s2.json()["prefix"], "my-o");
    assert_eq!(s2.json()["expiresAt"], "2999-01-01T00:00:00Z");
    assert!(a.e.secret_is_valid(&id, &secret1));
    assert!(a.e.secret_is_valid(&id, "my-own-secret-0123456789"));
    let list = a.get(&format!("/api/oidc/clients/{id}/secrets")).json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0].get("secret").is_none(), "never the value again");
    let old_id = s1.json()["id"].as_str().unwrap().to_string();
    let d = a.http.api(
        "DELETE",
        &a.url(&format!("/api/oidc/clients/{id}/secrets/{old_id}")),
        Some(KEY),
        None,
    );
    assert_eq!(d.status, 204);
    assert!(!a.e.secret_is_valid(&id, &secret1));
    assert_eq!(a.login(&id, &secret1, "openid").status, 401);

    // Errors: short secret, past expiry, a public client, the old route.
    let bad = a.send(
        "POST",
        &format!("/api/oidc/clients/{id}/secrets"),
        json!({"secret": "short"}),
    );
    assert_eq!(bad.status, 400);
    let past = a.send(
        "POST",
        &format!("/api/oidc/clients/{id}/secrets"),
        json!({"expiresAt": "2001-01-01T00:00:00Z"}),
    );
    assert_eq!(past.status, 400);
    a.send(
        "PUT",
        &format!("/api/oidc/clients/{id}"),
        json!({"name": "RomM 2", "isPublic": true}),
    );
    let public = a.send(
        "POST",
        &format!("/api/oidc/clients/{id}/secrets"),
        json!({}),
    );
    assert_eq!(
        (public.status, public.json()["code"].clone()),
        (400, json!("validation_failed"))
    );
    let singular = a.send("POST", &format!("/api/oidc/clients/{id}/secret"), json!({}));
    assert_eq!(singular.status, 404);
    assert_eq!(singular.body, r#"{"error":"API endpoint not found"}"#);

    // Custom ids; duplicates are 409 from v2.13.
    let dup = a.send(
        "POST",
        "/api/oidc/clients",
        json!({"id": "romm", "name": "x"}),
    );
    assert_eq!(
        (dup.status, dup.json()["code"].clone()),
        (409, json!("client_id_already_exists"))
    );
    let old = Admin::start(versioned("2.12.0"));
    let dup = old.send(
        "POST",
        "/api/oidc/clients",
        json!({"id": "romm", "name": "x"}),
    );
    assert_eq!(
        (dup.status, dup.body.as_str()),
        (400, r#"{"error":"Client ID already in use"}"#)
    );
}

#[test]
fn secret_before_2_14_replaces_the_old_one() {
    let a = Admin::start(versioned("2.13.0"));
    assert_eq!(a.login("romm", DEFAULT_CLIENT_SECRET, "openid").status, 200);
    let r = a.send("POST", "/api/oidc/clients/romm/secret", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(keys_in_order(&r.body), ["secret"]);
    let new = r.json()["secret"].as_str().unwrap().to_string();
    assert!(!a.e.secret_is_valid("romm", DEFAULT_CLIENT_SECRET));
    assert_eq!(a.login("romm", DEFAULT_CLIENT_SECRET, "openid").status, 401);
    assert_eq!(a.login("romm", &new, "openid").status, 200);
    assert_eq!(a.e.client("romm").unwrap().secret, Some(new));
    let plural = a.send("POST", "/api/oidc/clients/romm/secrets", json!({}));
    assert_eq!(plural.status, 404);
    assert!(
        a.get("/api/oidc/clients/romm").json()["credentials"]
            .get("secrets")
            .is_none()
    );
    // The legacy token endpoint agrees.
    let legacy = Admin::start(versioned("2.9.0"));
    let r = legacy.send("POST", "/api/oidc/clients/romm/secret", json!({}));
    let new = r.json()["secret"].as_str().unwrap().to_string();
    assert!(legacy.e.secret_is_valid("romm", &new));
    assert!(!legacy.e.secret_is_valid("romm", DEFAULT_CLIENT_SECRET));
}

#[test]
fn user_put_is_a_full_replace_and_reaches_the_id_token() {
    let mut cfg = Config::default();
    cfg.users[0].email_verified = false;
    cfg.admins.push("alice".into());
    let a = Admin::start(cfg);
    let path = format!("/api/users/{DEFAULT_USER_ID}");
    let user = a.get(&path);
    assert_eq!(
        keys_in_order(&user.body),
        [
            "id",
            "username",
            "email",
            "emailVerified",
            "firstName",
            "lastName",
            "displayName",
            "isAdmin",
            "locale",
            "customClaims",
            "userGroups",
            "ldapId",
            "disabled"
        ]
    );
    assert_eq!(user.json()["displayName"], "Alice Example");
    let t = a.login(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "openid email");
    let (_, claims) = jwt_parts(t.json()["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], false);

    // A careless PUT: emailVerified true but isAdmin and names omitted.
    let r = a.send(
        "PUT",
        &path,
        json!({"username": "alice", "email": "alice@example.com", "emailVerified": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let acct = a.e.account("alice").unwrap();
    assert!(!acct.is_admin, "omitting isAdmin demotes");
    assert_eq!(acct.user.first_name, "");
    assert_eq!(acct.display_name, "");
    assert!(acct.user.email_verified);
    let t = a.login(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "openid email");
    let (_, claims) = jwt_parts(t.json()["id_token"].as_str().unwrap());
    assert_eq!(claims["email_verified"], true);
    // Omitting emailVerified un-verifies; omitting email fails.
    a.send(
        "PUT",
        &path,
        json!({"username": "alice", "email": "alice@example.com"}),
    );
    assert!(!a.e.user("alice").unwrap().email_verified);
    let r = a.send("PUT", &path, json!({"username": "alice"}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "email is required");
    let r = a.send(
        "PUT",
        &path,
        json!({"username": "alice", "email": "admin@example.org"}),
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (409, json!("already_in_use"))
    );
    let r = a.send(
        "PUT",
        "/api/users/nobody",
        json!({"username": "x", "email": "x@y"}),
    );
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (404, json!("user_not_found"))
    );

    // Before v2.2 there is no per-user flag: the global setting decides.
    let old = Admin::start(Config {
        emails_verified: true,
        ..versioned("2.1.0")
    });
    let dto = old.get(&path).json();
    assert!(dto.get("emailVerified").is_none());
    old.e.set_user_email_verified("alice", false);
    let p = old.get(&format!(
        "/api/oidc/clients/romm/preview/{DEFAULT_USER_ID}?scopes=openid%20email"
    ));
    assert_eq!(p.json()["idToken"]["email_verified"], true);
}

#[test]
fn user_search_is_a_paginated_substring_match() {
    let mut cfg = Config::default();
    for i in 0..25 {
        cfg.users.push(User::new(
            &format!("user{i:02}"),
            Some(&format!("u{i}@games.test")),
        ));
    }
    let a = Admin::start(cfg);
    let r = a.get("/api/users?search=ALICE%40example");
    let page = r.json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["email"], "alice@example.com");
    assert_eq!(
        page["pagination"],
        json!({"totalPages": 1, "totalItems": 1, "currentPage": 1, "itemsPerPage": 20})
    );
    let r = a.get("/api/users?search=games.test");
    assert_eq!(r.json()["pagination"]["totalItems"], 25);
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 20);
    let r = a.get("/api/users?search=games.test&pagination%5Bpage%5D=9&pagination%5Blimit%5D=10");
    assert_eq!(
        r.json()["pagination"]["currentPage"],
        3,
        "clamped to the last page"
    );
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 5);
    let r = a.get("/api/users?filters%5BisAdmin%5D=true");
    assert_eq!(r.json()["data"][0]["username"], ADMIN_USERNAME);
    assert_eq!(r.json()["pagination"]["totalItems"], 1);
}

#[test]
fn preview_matches_the_real_tokens_and_enforces_groups() {
    let mut cfg = Config::default();
    cfg.users[0].email_verified = false;
    cfg.users[0].groups = vec!["gamers".into()];
    let a = Admin::start(cfg);
    let path = format!("/api/oidc/clients/romm/preview/{DEFAULT_USER_ID}");
    let p = a.get(&format!(
        "{path}?scopes=openid%20profile%20email%20groups%20bogus"
    ));
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        keys_in_order(&p.body),
        ["idToken", "accessToken", "userInfo"]
    );
    let preview = p.json();
    let t = a.login(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        "openid profile email groups",
    );
    let (_, real) = jwt_parts(t.json()["id_token"].as_str().unwrap());
    let id = &preview["idToken"];
    for k in [
        "sub",
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "groups",
        "iss",
        "aud",
        "type",
    ] {
        assert_eq!(id[k], real[k], "{k}");
    }
    assert_eq!(id["email_verified"], false);
    assert!(id.get("amr").is_none(), "API-key callers get no amr");
    assert_eq!(preview["userInfo"]["type"], "id-token");
    assert_eq!(preview["accessToken"]["client_id"], "romm");

    // Scopes split on spaces only.
    let p = a.get(&format!("{path}?scopes=openid,email"));
    assert!(p.json()["idToken"].get("email").is_none());
    let p = a.get(&path);
    assert_eq!(p.status, 400);
    assert_eq!(p.json()["details"]["fields"][0]["field"], "scopes");
    assert_eq!(
        a.get("/api/oidc/clients/romm/preview/nobody?scopes=openid")
            .status,
        404
    );

    // Group restriction: preview 403 and the login refused on the error page.
    a.send(
        "PUT",
        "/api/oidc/clients/romm",
        json!({"name": "RomM", "callbackURLs": [CB], "isGroupRestricted": true}),
    );
    let staff = a.get("/api/user-groups?search=gamers").json()["data"][0]["id"].clone();
    let r = a.send(
        "PUT",
        "/api/oidc/clients/romm/allowed-user-groups",
        json!({"userGroupIds": [staff, "unknown-id"]}),
    );
    assert_eq!(r.status, 200);
    assert!(r.json().get("allowedUserGroups").is_none());
    assert_eq!(a.e.client("romm").unwrap().allowed_user_groups, ["gamers"]);
    assert_eq!(a.get(&format!("{path}?scopes=openid")).status, 200);
    a.send(
        "PUT",
        "/api/oidc/clients/romm/allowed-user-groups",
        json!({"userGroupIds": []}),
    );
    let p = a.get(&format!("{path}?scopes=openid"));
    assert_eq!(
        (p.status, p.json()["code"].clone()),
        (403, json!("oidc_access_denied"))
    );
    let r = a.http.get(&authorize_url(&a.e, &[]));
    assert_eq!(r.status, 302);
    assert_eq!(
        r.location(),
        "/interaction/error?error=You+are+not+allowed+to+access+this+service."
    );
}

#[test]
fn admin_writes_are_recorded_as_sent() {
    let a = Admin::start(Config::default());
    a.get("/api/users/me");
    a.send(
        "PUT",
        "/api/oidc/clients/romm",
        json!({"name": "RomM", "callbackURLs": [CB]}),
    );
    let writes = a.e.admin_writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].path, "/api/oidc/clients/romm");
    assert_eq!(
        writes[0].json().unwrap(),
        json!({"name": "RomM", "callbackURLs": [CB]})
    );
}
