use aws_adapters::sqs::DLQ_MAX_RECEIVE_COUNT;
use aws_adapters::test_support::{moto_config, sdk_config, unique_name};
use aws_adapters::SqsWorkQueue;
use aws_sdk_sqs::types::QueueAttributeName;
use engine::ports::{AccountWork, RunKind, StoreError, WorkQueue, ACCOUNT_WORK_VERSION};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto_config().await)
}

async fn queue(c: &aws_sdk_sqs::Client, name: &str) -> String {
    c.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn drain(c: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let out = c
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            bodies.push(m.body.unwrap());
            c.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    bodies
}

fn work(i: usize) -> AccountWork {
    AccountWork {
        v: ACCOUNT_WORK_VERSION,
        task_id: "run-1".into(),
        account_id: format!("001{i:015}"),
        kind: RunKind::Scheduled,
        window_from: Some("2026-04-01T00:00:00Z".parse().unwrap()),
        window_to: Some("2026-04-02T00:00:00Z".parse().unwrap()),
        fno_changed: Vec::new(),
    }
}

#[tokio::test]
async fn fan_out_of_23_accounts_takes_3_batch_calls_and_every_message_arrives() {
    let c = client().await;
    let url = queue(&c, &unique_name("work")).await;
    let q = SqsWorkQueue::new(c.clone(), &url);
    let items: Vec<AccountWork> = (0..23).map(work).collect();
    q.enqueue(&items).await.unwrap();
    assert_eq!(q.batch_calls(), 3);
    let got: Vec<AccountWork> = drain(&c, &url)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(got.len(), 23);
    let want: HashSet<String> = items.iter().map(|w| w.account_id.clone()).collect();
    assert_eq!(
        got.iter()
            .map(|w| w.account_id.clone())
            .collect::<HashSet<_>>(),
        want
    );
    assert!(
        got.iter()
            .all(|w| w == &items[w.account_id[3..].parse::<usize>().unwrap()]),
        "bodies are the v1 schema verbatim"
    );
}

#[tokio::test]
async fn message_body_is_the_versioned_schema() {
    let body = serde_json::to_value(work(7)).unwrap();
    assert_eq!(body["v"], 1);
    assert_eq!(body["kind"], "scheduled");
    assert_eq!(body["account_id"], "001000000000000007");
}

/// A stand-in SQS endpoint on 127.0.0.1 that speaks SendMessageBatch (AWS JSON 1.0) and
/// fails chosen entries — moto never reports per-entry failures for valid messages, so the
/// retry path is exercised here: bodies containing "FLAKY" fail on their first send only,
/// bodies containing "BROKEN" fail every time. Records the entries of every call.
async fn flaky_sqs() -> (String, Arc<Mutex<Vec<Vec<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (calls2, seen2) = (Arc::clone(&calls), Arc::clone(&seen));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (calls, seen) = (Arc::clone(&calls2), Arc::clone(&seen2));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // one request: headers, then Content-Length bytes
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 8192];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 8192];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: serde_json::Value =
                        serde_json::from_slice(&buf[head_end..head_end + len]).unwrap();
                    buf.drain(..head_end + len);
                    let (mut ok, mut failed, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
                    for e in body["Entries"].as_array().unwrap() {
                        let (id, text) = (
                            e["Id"].as_str().unwrap(),
                            e["MessageBody"].as_str().unwrap().to_owned(),
                        );
                        let first_time = seen.lock().unwrap().insert(text.clone());
                        if text.contains("BROKEN") || (text.contains("FLAKY") && first_time) {
                            failed.push(serde_json::json!({"Id": id, "SenderFault": false, "Code": "InternalError", "Message": "try again"}));
                        } else {
                            ok.push(serde_json::json!({"Id": id, "MessageId": format!("m-{id}"), "MD5OfMessageBody": "d41d8cd98f00b204e9800998ecf8427e"}));
                        }
                        bodies.push(text);
                    }
                    calls.lock().unwrap().push(bodies);
                    let out = serde_json::json!({"Successful": ok, "Failed": failed}).to_string();
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: r\r\ncontent-length: {}\r\n\r\n{out}",
                        out.len()
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, calls)
}

#[tokio::test]
async fn only_the_failed_entries_are_retried() {
    let (endpoint, calls) = flaky_sqs().await;
    let c = aws_sdk_sqs::Client::new(&sdk_config(&endpoint).await);
    let q = SqsWorkQueue::new(c, format!("{endpoint}/123456789012/work"));
    let mut items: Vec<AccountWork> = (0..12).map(work).collect();
    items[4].account_id = "001FLAKY0000000004".into();
    items[11].account_id = "001FLAKY0000000011".into();
    q.enqueue(&items).await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        [10, 2, 2],
        "two batches, then one retry of the 2 failed"
    );
    assert!(calls[2].iter().all(|b| b.contains("FLAKY")));
}

#[tokio::test]
async fn entries_that_keep_failing_make_enqueue_fail_naming_the_accounts() {
    let (endpoint, calls) = flaky_sqs().await;
    let c = aws_sdk_sqs::Client::new(&sdk_config(&endpoint).await);
    let q = SqsWorkQueue::new(c, format!("{endpoint}/123456789012/work")).with_max_attempts(3);
    let mut items: Vec<AccountWork> = (0..5).map(work).collect();
    items[2].account_id = "001BROKEN000000002".into();
    let err = q.enqueue(&items).await.unwrap_err();
    match &err {
        StoreError::Backend { context, source } => {
            assert!(context.contains("001BROKEN000000002"), "{context}");
            assert!(
                !context.contains("001000000000000001"),
                "only the failed account is named: {context}"
            );
            assert!(source.to_string().contains("InternalError"), "{source}");
        }
        other => panic!("expected Backend, got {other:?}"),
    }
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 1, 1],
        "bounded: 3 attempts of the failed entry"
    );
}

#[tokio::test]
async fn dlq_receives_a_message_after_max_receive_count() {
    let c = client().await;
    let dlq = queue(&c, &unique_name("work-dlq")).await;
    let dlq_arn = c
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let name = unique_name("work");
    let url = c
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": DLQ_MAX_RECEIVE_COUNT }).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    SqsWorkQueue::new(c.clone(), &url)
        .enqueue(&[work(1)])
        .await
        .unwrap();
    let mut receives = 0;
    for _ in 0..10 {
        let out = c.receive_message().queue_url(&url).send().await.unwrap();
        if out.messages.unwrap_or_default().is_empty() {
            break;
        }
        receives += 1; // received, not deleted: the consumer "failed"
    }
    assert_eq!(receives, DLQ_MAX_RECEIVE_COUNT);
    let dead = drain(&c, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        serde_json::from_str::<AccountWork>(&dead[0]).unwrap(),
        work(1)
    );
}
