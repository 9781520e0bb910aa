//! `tenant ashby-webhooks ID`: set up a tenant's Ashby webhooks (CONTRACT §11), the same
//! operation as `PUT /v1/tenants/{id}/ashby-webhooks`.

use sea_orm::DatabaseConnection;

use super::output::print;
use crate::domain::ids::TenantId;
use crate::secrets::ServerSecrets;
use crate::service::register_ashby_webhooks;
use crate::settings::Settings;

pub async fn run(
    db: &DatabaseConnection,
    settings: &Settings,
    id: TenantId,
    json: bool,
) -> anyhow::Result<()> {
    let secrets = ServerSecrets::resolve(settings)?;
    super::check_encryption_key(db, &secrets.sealer).await?;
    let registration = register_ashby_webhooks(db, &secrets.sealer, settings, id).await?;
    print(json, &registration.answer(), |answer| {
        let str_of = |key: &str| answer[key].as_str().unwrap_or_default().to_owned();
        let types = answer["webhook_types"]
            .as_array()
            .map(|types| {
                types
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        if str_of("status") == "registered" {
            format!(
                "Ashby webhooks registered for tenant {id} ({types}) at\n  {}",
                str_of("url")
            )
        } else {
            format!(
                "{}\n  request URL:  {}\n  secret token: {}\n  types:        {types}",
                str_of("message"),
                str_of("url"),
                str_of("secret_token")
            )
        }
    })
}
