//! `subscription-upgrades`: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use subscription_upgrades::auth;
use subscription_upgrades::config::{Cli, Command, LoadPricesArgs, Settings, TokenArgs};
use subscription_upgrades::domain::plan::{PriceList, check_price_list};
use subscription_upgrades::startup::{self, Application};
use subscription_upgrades::{db, http, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // Only serving makes spans worth exporting.
    let otel = matches!(command, Command::Serve).then_some(&cli.settings.otel);
    let telemetry = match telemetry::init(cli.settings.log_format, otel) {
        Ok(telemetry) => telemetry,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match command {
        Command::Serve => serve(&cli.settings).await,
        Command::Migrate => startup::prepare_database(&cli.settings)
            .await
            .map(|_| tracing::info!("migrations applied"))
            .map_err(|e| e.to_string()),
        Command::Openapi => {
            #[allow(clippy::print_stdout)]
            {
                print!("{}", http::openapi::document_json());
            }
            Ok(())
        }
        Command::SeedDemo(args) => match args.scale {
            Some(subscriptions) => {
                seed_scale(&cli.settings, (subscriptions, args.customers_per_partner)).await
            }
            None => seed_demo(&cli.settings).await,
        },
        Command::LoadPrices(args) => load_prices(&cli.settings, &args).await,
        Command::Healthcheck => startup::probe_health(cli.settings.bind_addr).await,
        Command::Token(args) => mint_token(&cli.settings, args),
    };
    // After the graceful shutdown: the spans of the last requests are sent before exiting.
    telemetry.shutdown().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: &Settings) -> Result<(), String> {
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    let addr = app.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, "listening");
    app.run_until(startup::shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))
}

fn mint_token(settings: &Settings, args: TokenArgs) -> Result<(), String> {
    let request = auth::MintRequest {
        partner: args.partner,
        roles: args.roles,
        user: args.user,
        ttl: args.ttl,
    };
    let token = auth::mint(&settings.keys(), &request).map_err(|e| e.to_string())?;
    #[allow(clippy::print_stdout)]
    {
        println!("{token}");
    }
    Ok(())
}

async fn seed_demo(settings: &Settings) -> Result<(), String> {
    let pool = startup::prepare_database(settings)
        .await
        .map_err(|e| e.to_string())?;
    db::seed_demo(&pool)
        .await
        .map_err(|e| format!("could not load the demo data: {e}"))?;
    #[allow(clippy::print_stdout)]
    {
        println!("Demo data loaded. Partners (use as --partner with the token command):");
        for (id, name) in db::DEMO_PARTNERS {
            println!("  {id}  {name}");
        }
    }
    Ok(())
}

async fn load_prices(settings: &Settings, args: &LoadPricesArgs) -> Result<(), String> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("standard input: {e}"))?
    } else {
        std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?
    };
    let list: PriceList =
        serde_json::from_str(&text).map_err(|e| format!("not a price list: {e}"))?;
    check_price_list(&list).map_err(|e| e.to_string())?;
    let pool = startup::prepare_database(settings)
        .await
        .map_err(|e| e.to_string())?;
    let stored = db::catalog::store_price_list(&pool, &list)
        .await
        .map_err(|e| match db::violated_constraint(&e) {
            Some("offer_plan_prices_offer_market_fkey") => {
                "an offer of the list is not sold in its market (or does not exist)".to_owned()
            }
            _ => format!("could not store the price list: {e}"),
        })?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{stored} prices stored, in force from {}.",
            list.effective_from
        );
    }
    Ok(())
}

async fn seed_scale(settings: &Settings, layout: (i64, i64)) -> Result<(), String> {
    let subscriptions = layout.0;
    let pool = startup::prepare_database(settings)
        .await
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    db::scale::seed(&pool, layout, |done, total| {
        eprintln!(
            "  {done:>7} / {total} customers ({:.0} %), {:.1} s",
            100.0 * done as f64 / total as f64,
            started.elapsed().as_secs_f64()
        );
    })
    .await
    .map_err(|e| format!("could not load the scale data: {e}"))?;
    eprintln!(
        "Loaded {subscriptions} subscriptions in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
