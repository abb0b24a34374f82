//! `tls: true`: HTTPS with a throwaway CA that clients must trust.

use crate::common::*;
use sim_salesforce::SimOptions;

#[tokio::test]
async fn https_with_the_sim_ca_trusted() {
    let sim = start(SimOptions {
        tls: true,
        ..SimOptions::default()
    })
    .await;
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));
    let pem = sim.tls_cert_pem().expect("CA pem");
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem");
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let r = client
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token over TLS");
    let (s, _, v) = split(r).await;
    assert_eq!(s, 200);
    assert_eq!(v["instance_url"], sim.base_url());
    let tok = v["access_token"].as_str().expect("tok");
    let r = client
        .get(url(&sim, "query"))
        .query(&[("q", "SELECT Id FROM Account")])
        .bearer_auth(tok)
        .send()
        .await
        .expect("query over TLS");
    assert_eq!(r.status(), 200);
    // also valid for "localhost"
    let port = sim.base_url().rsplit(':').next().expect("port");
    let r = client
        .get(format!("https://localhost:{port}/services/data"))
        .send()
        .await
        .expect("localhost");
    assert_eq!(r.status(), 200);
    // an untrusting client refuses the certificate
    assert!(reqwest::Client::new()
        .get(format!("{}/services/data", sim.base_url()))
        .send()
        .await
        .is_err());
    assert!(start(SimOptions::default()).await.tls_cert_pem().is_none());
}
