//! The production screening list: OFAC files under an S3 prefix (LocalStack), loaded at
//! start and re-read when they change.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use shared::checks::live::ScreeningList;
use shared::checks::screening::ScreeningQuery;
use shared::checks::screening_s3::S3ScreeningList;
use shared::decision::Screening;

const SDN: &str = include_str!("../data/ofac/sdn.csv");

/// The shipped list's lines for these entries, so the test data is real OFAC data.
fn sdn_with(ids: &[&str]) -> String {
    SDN.lines().filter(|l| ids.iter().any(|id| l.starts_with(&format!("{id},")))).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn the_list_loads_from_s3_and_follows_a_refresh() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        if std::env::var("TI_SKIP_LOCALSTACK").as_deref() == Ok("1") {
            eprintln!("skipping S3 screening test: TI_SKIP_LOCALSTACK=1");
            return;
        }
        panic!("AWS_ENDPOINT_URL is not set: run `scripts/test` (it starts LocalStack), or set TI_SKIP_LOCALSTACK=1");
    }
    let config = shared::sdk::from_env().expect("the AWS settings in the environment");
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let bucket = format!("ti-screening-{}", uuid::Uuid::new_v4().simple());
    let region = aws_sdk_s3::types::BucketLocationConstraint::from(config.region().unwrap().as_ref());
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder().location_constraint(region).build();
    s3.create_bucket().bucket(&bucket).create_bucket_configuration(location).send().await.unwrap();
    let put = async |file: &str, body: String| {
        let key = format!("screening/{file}");
        s3.put_object().bucket(&bucket).key(key).body(ByteStream::from(body.into_bytes())).send().await.unwrap();
    };
    put("sdn.csv", sdn_with(&["2674", "22790"])).await;
    put("alt.csv", String::new()).await;
    put("add.csv", String::new()).await;

    let list = S3ScreeningList::load_with(s3.clone(), bucket.clone(), "screening".into())
        .await
        .unwrap()
        .with_check_every(Duration::ZERO);
    let query = ScreeningQuery::person("Abu Abbas", None);
    assert_eq!(list.current().await.unwrap().screen(&query).outcome, Screening::Match);

    // The list is republished without that entry: the next screening uses the new list.
    put("sdn.csv", sdn_with(&["22790"])).await;
    assert_eq!(list.current().await.unwrap().screen(&query).outcome, Screening::Cleared);
    let maduro = ScreeningQuery::person("Nicolas Maduro Moros", None);
    assert_eq!(list.current().await.unwrap().screen(&maduro).outcome, Screening::Match);

    // A prefix without the files fails the cold start instead of screening against nothing.
    let missing = S3ScreeningList::load_with(s3, bucket, "nowhere".into()).await;
    assert!(missing.is_err());
}
