//! In-process administration: organizations, directories and the primary directory.

use std::sync::Arc;

use scimkit::Admin;
use scimkit::admin::AdminError;
use scimkit::model::{DirectoryId, OrganizationId};
use scimkit::store::MemoryStore;
use scimkit::sync::{DirectorySelector, DirectorySync};

fn admin() -> (Admin, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (Admin::new(store.clone()), store)
}

#[tokio::test]
async fn organizations_page_by_keyset_and_update_keeps_external_ids_unique() {
    let (admin, _) = admin();
    let mut created = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        created.push(
            admin
                .create_organization(Some(name.into()), vec![])
                .await
                .unwrap()
                .id,
        );
    }
    let mut listed: Vec<OrganizationId> = Vec::new();
    loop {
        let page = admin.list_organizations(listed.last(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        listed.extend(page.into_iter().map(|o| o.id));
    }
    // Keyset order is id order, whatever the creation order.
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(listed, expected);

    let updated = admin
        .update_organization(&created[0], Some("acme".into()), vec!["Acme.COM.".into()])
        .await
        .unwrap();
    assert_eq!(updated.domains, ["acme.com"]);
    let found = admin.organization_by_external_id("acme").await.unwrap();
    assert_eq!(found.map(|o| o.id), Some(created[0].clone()));
    assert!(
        admin
            .organization_by_external_id("a")
            .await
            .unwrap()
            .is_none()
    );

    let taken = admin
        .update_organization(&created[1], Some("acme".into()), vec![])
        .await;
    assert!(matches!(taken, Err(AdminError::ExternalIdTaken(id)) if id == "acme"));
    let bad = admin
        .update_organization(&created[1], None, vec!["not a domain".into()])
        .await;
    assert!(matches!(bad, Err(AdminError::InvalidDomain(_))));
    let unknown = OrganizationId::from_uuid(uuid::Uuid::from_u128(42));
    let missing = admin.update_organization(&unknown, None, vec![]).await;
    assert!(matches!(missing, Err(AdminError::UnknownOrganization(_))));
}

#[tokio::test]
async fn setting_the_primary_directory_moves_the_organization_selector() {
    let (admin, store) = admin();
    let org = admin
        .create_organization(Some("acme".into()), vec![])
        .await
        .unwrap();
    let first = admin.create_directory(&org.id, true).await.unwrap();
    let second = admin.create_directory(&org.id, false).await.unwrap();
    let sync = DirectorySync::new(store);
    let selector = DirectorySelector::OrganizationExternalId("acme".into());
    assert_eq!(sync.directory(&selector).await.unwrap().id, first.id);

    admin.set_primary_directory(&second.id).await.unwrap();
    let directories = admin.list_directories(&org.id).await.unwrap();
    let primary: Vec<(DirectoryId, bool)> =
        directories.into_iter().map(|d| (d.id, d.primary)).collect();
    assert!(primary.contains(&(first.id, false)), "{primary:?}");
    assert!(primary.contains(&(second.id.clone(), true)), "{primary:?}");
    assert_eq!(primary.len(), 2);
    assert_eq!(sync.directory(&selector).await.unwrap().id, second.id);
    assert_eq!(
        admin
            .primary_directory(&org.id)
            .await
            .unwrap()
            .map(|d| d.id),
        Some(second.id.clone())
    );

    let unknown = DirectoryId::from_uuid(uuid::Uuid::from_u128(42));
    let missing = admin.set_primary_directory(&unknown).await;
    assert!(matches!(missing, Err(AdminError::UnknownDirectory(_))));

    assert_eq!(
        Admin::scim_base_url("https://api.example.com/", "/scim/v2/", &second.id),
        format!("https://api.example.com/scim/v2/{}", second.id)
    );
}
