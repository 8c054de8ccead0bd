//! `total-identity`: the one-process local server (embedded storage by default) and the
//! operator commands (create a tenant, create the DynamoDB table).

mod aws;
mod server;
mod stores;
mod uploads;

use clap::{Args, Parser, Subcommand};
use shared::domain::tenant::{Branding, Colour, DisplayName, LogoUrl, RateLimit, ResultSigning};
use shared::domain::{KeyMode, RetentionDays, Step, Steps, Threshold};
use shared::service::{TenantSpec, create_tenant};

use crate::stores::StoreArgs;

#[derive(Parser)]
#[command(name = "total-identity", version, about = "Total Identity: identity verification you can run yourself")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the local server (the default command).
    Serve(server::ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Create the DynamoDB table (idempotent).
    #[command(subcommand)]
    Table(TableCommand),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its API key. The key is shown once and stored only as a hash.
    Create(TenantCreateArgs),
}

#[derive(Subcommand)]
enum TableCommand {
    Create {
        #[arg(long, env = "TI_TABLE", default_value = "total-identity")]
        table: String,
    },
}

#[derive(Args)]
struct TenantCreateArgs {
    #[arg(long)]
    name: String,
    /// An origin the tenant may redirect to, e.g. https://app.example.com (repeatable).
    #[arg(long = "redirect-origin", required = true)]
    redirect_origins: Vec<String>,
    #[arg(long)]
    webhook_url: Option<String>,
    /// Default steps, comma separated (document,liveness,dvs,peps,bank).
    #[arg(long, value_delimiter = ',')]
    steps: Vec<String>,
    #[arg(long)]
    threshold: Option<f64>,
    /// Issue a live key (`ti_live_`) instead of a test key.
    #[arg(long)]
    live: bool,
    /// Allow http://localhost origins (local development).
    #[arg(long)]
    local: bool,
    /// Sign this tenant's result tokens with HS256 and a shared secret (printed once)
    /// instead of ES256 with the published JWKS.
    #[arg(long)]
    hs256: bool,
    /// `POST /identity` requests the tenant may make at once (the token bucket's size).
    #[arg(long, default_value_t = RateLimit::DEFAULT.burst())]
    rate_limit_burst: u32,
    /// Tokens added back per second.
    #[arg(long, default_value_t = RateLimit::DEFAULT.per_sec())]
    rate_limit_per_sec: f64,
    /// Days the tenant's session records, personal data and captures are kept (1-3650, default 30).
    #[arg(long)]
    retention_days: Option<u16>,
    /// The name the hosted journey shows (default: --name).
    #[arg(long)]
    display_name: Option<String>,
    /// The logo the hosted journey shows: an https URL (http://localhost with --local).
    #[arg(long)]
    logo_url: Option<String>,
    /// The journey's primary colour, #rrggbb (button text is black or white, by contrast).
    #[arg(long, alias = "primary-color")]
    primary_colour: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or_else(|| Command::Serve(server::ServeArgs::default())) {
        Command::Serve(args) => server::run(args).await,
        Command::Tenant(TenantCommand::Create(args)) => tenant_create(args).await,
        Command::Table(TableCommand::Create { table }) => stores::create_table(&table).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn tenant_create(args: TenantCreateArgs) -> Result<(), Box<dyn std::error::Error>> {
    let steps = if args.steps.is_empty() {
        None
    } else {
        let parsed = args.steps.iter().map(|s| Step::parse(s.trim())).collect::<Result<Vec<_>, _>>();
        Some(Steps::new(parsed.map_err(|r| r.message)?).map_err(|r| r.message)?)
    };
    let threshold = args.threshold.map(Threshold::new).transpose().map_err(|r| r.message)?;
    let policy = if args.local || args.store.is_embedded() {
        shared::domain::UrlPolicy::AllowHttpLocalhost
    } else {
        shared::domain::UrlPolicy::HttpsOnly
    };
    let branding = Branding {
        display_name: args.display_name.as_deref().map(DisplayName::parse).transpose().map_err(|r| r.message)?,
        logo_url: args.logo_url.as_deref().map(|u| LogoUrl::parse(u, policy)).transpose().map_err(|r| r.message)?,
        primary_colour: args.primary_colour.as_deref().map(Colour::parse).transpose().map_err(|r| r.message)?,
    };
    let spec = TenantSpec {
        name: args.name,
        redirect_origins: args.redirect_origins,
        webhook_url: args.webhook_url,
        default_steps: steps,
        default_threshold: threshold,
        mode: if args.live { KeyMode::Live } else { KeyMode::Test },
        demo_key: false,
        result_signing: if args.hs256 { ResultSigning::generate_hs256() } else { ResultSigning::Es256 },
        rate_limit: RateLimit::new(args.rate_limit_burst, args.rate_limit_per_sec).map_err(|r| r.message)?,
        retention: args.retention_days.map(RetentionDays::new).transpose().map_err(|r| r.message)?,
        branding,
    };
    let store = args.store.open().await?;
    let now = chrono_now();
    let (tenant, key) = create_tenant(&*store.tenants, policy, spec, now).await?;
    if args.json {
        let out = serde_json::json!({
            "tenant_id": tenant.id.as_str(),
            "name": tenant.name,
            "api_key": key.expose(),
            "webhook_secret": tenant.webhook_secret,
            "redirect_origins": tenant.redirect_origins,
            "retention_days": tenant.retention.days(),
            "result_secret": hs256_secret(&tenant.result_signing),
            "branding": tenant.branding,
        });
        println!("{out}");
    } else {
        println!("Created tenant {} ({})", tenant.name, tenant.id);
        println!("API key:        {}", key.expose());
        println!("Webhook secret: {}", tenant.webhook_secret);
        if let Some(secret) = hs256_secret(&tenant.result_signing) {
            println!("Result secret:  {secret}  (HS256 result tokens)");
        }
        println!("Store the key now: it is kept only as a hash and cannot be shown again.");
    }
    Ok(())
}

fn hs256_secret(signing: &ResultSigning) -> Option<&str> {
    match signing {
        ResultSigning::Hs256 { secret } => Some(secret),
        ResultSigning::Es256 => None,
    }
}

fn chrono_now() -> i64 {
    use shared::ports::Clock;
    shared::ports::SystemClock.now()
}
