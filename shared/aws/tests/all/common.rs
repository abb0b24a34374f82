use aws_adapters::tables::TableDef;
use aws_adapters::test_support::{moto_config, unique_name};

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto_config().await)
}

/// A fresh table with `def`'s layout (the same layout template.yaml declares).
pub async fn table(client: &aws_sdk_dynamodb::Client, def: &TableDef) -> String {
    let name = unique_name(def.logical_id);
    def.create(client, &name)
        .await
        .expect("create table on moto");
    name
}
