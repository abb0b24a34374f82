use aws_adapters::test_support::{moto_config, unique_name};
use aws_adapters::{SecretsCache, SecretsError};
use aws_sdk_secretsmanager::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_secretsmanager::error::BoxError;
use mapping::secret::Secret;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts HTTP requests the client sends (what moto sees).
#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicUsize>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }
    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Connection {
    username: String,
    password: Secret,
    tenant_url: String,
}

fn conn(pw: &str) -> Connection {
    Connection {
        username: "integration@acme.example".into(),
        password: Secret::new(pw),
        tenant_url: "https://acme-uat.flexnetoperations.com".into(),
    }
}

async fn counted_client() -> (aws_sdk_secretsmanager::Client, CountRequests) {
    let counter = CountRequests::default();
    let conf = aws_sdk_secretsmanager::config::Builder::from(&moto_config().await)
        .interceptor(counter.clone())
        .build();
    (aws_sdk_secretsmanager::Client::from_conf(conf), counter)
}

async fn secret_with(c: &aws_sdk_secretsmanager::Client, value: Option<&str>) -> String {
    let mut req = c.create_secret().name(unique_name("flexbridge-connection"));
    if let Some(v) = value {
        req = req.secret_string(v);
    }
    req.send().await.unwrap().arn.unwrap()
}

#[tokio::test]
async fn r25_secret_is_fetched_once_then_served_from_the_cache() {
    let (c, counter) = counted_client().await;
    let arn = secret_with(
        &c,
        Some(&serde_json::to_string(&conn("pw-one-4f9a")).unwrap()),
    )
    .await;
    let cache: SecretsCache<Connection> = SecretsCache::new(c.clone(), &arn);
    let before = counter.0.load(Ordering::SeqCst);
    assert_eq!(*cache.get().await.unwrap(), conn("pw-one-4f9a"));
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        before + 1,
        "first get fetches"
    );
    for _ in 0..5 {
        cache.get().await.unwrap();
    }
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        before + 1,
        "later gets make no call"
    );
    assert_eq!(cache.fetches(), 1);

    // the admin saves new credentials elsewhere; a refusal triggers refresh()
    c.put_secret_value()
        .secret_id(&arn)
        .secret_string(serde_json::to_string(&conn("pw-two-77c1")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        cache.get().await.unwrap().password.expose(),
        "pw-one-4f9a",
        "still cached"
    );
    assert_eq!(
        cache.refresh().await.unwrap().password.expose(),
        "pw-two-77c1"
    );
    assert_eq!(cache.fetches(), 2);
}

#[tokio::test]
async fn r25_secret_values_never_show_in_debug() {
    let (c, _) = counted_client().await;
    let arn = secret_with(
        &c,
        Some(&serde_json::to_string(&conn("pw-debug-93be")).unwrap()),
    )
    .await;
    let cache: SecretsCache<Connection> = SecretsCache::new(c, &arn);
    let value = cache.get().await.unwrap();
    let shown = format!("{cache:?} {value:?} {:?}", cache.get().await);
    assert!(!shown.contains("pw-debug-93be"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[tokio::test]
async fn r25_put_stores_the_settings_for_every_later_cold_start() {
    let (c, _) = counted_client().await;
    let arn = secret_with(&c, Some("{}")).await;
    let admin: SecretsCache<Connection> = SecretsCache::new(c.clone(), &arn);
    assert!(
        matches!(admin.get().await, Err(SecretsError::NotSet { .. })),
        "template placeholder {{}} = not saved"
    );
    admin.put(conn("pw-saved-1d2e")).await.unwrap();
    assert_eq!(
        admin.get().await.unwrap().password.expose(),
        "pw-saved-1d2e"
    );
    let cold: SecretsCache<Connection> = SecretsCache::new(c, &arn);
    assert_eq!(*cold.get().await.unwrap(), conn("pw-saved-1d2e"));
}

#[tokio::test]
async fn r25_a_secret_without_a_value_or_with_bad_json_is_a_clear_error() {
    let (c, _) = counted_client().await;
    let arn = secret_with(&c, None).await;
    let cache: SecretsCache<Connection> = SecretsCache::new(c.clone(), &arn);
    let err = cache.get().await.unwrap_err();
    assert!(matches!(err, SecretsError::NotSet { .. }), "{err:?}");
    let arn = secret_with(
        &c,
        Some(r#"{"username": "u", "password": 4711, "tenant_url": "x"}"#),
    )
    .await;
    let err = SecretsCache::<Connection>::new(c.clone(), &arn)
        .get()
        .await
        .unwrap_err();
    assert!(
        matches!(err, SecretsError::Malformed { .. }) && !format!("{err:?}").contains("4711"),
        "{err:?}"
    );
    let missing = SecretsCache::<Connection>::new(
        c,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf",
    );
    assert!(matches!(
        missing.get().await,
        Err(SecretsError::Backend { .. })
    ));
}
