//! `lumbung`: the Lumbung server and its administration commands.

use std::{io::BufRead, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use infra::{clock::SystemClock, config::Settings, demo};
use lumbung_api::{startup::Application, telemetry};

#[derive(Parser)]
#[command(name = "lumbung", version, about = "Procurement marketplace for Koperasi Merah Putih cooperatives")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve GraphQL over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LUMBUNG_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Seed the Malang demo data into an empty database and print the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    ExportSchema,
    /// Write every published tender as an OCDS release package, one per line (JSON Lines), to standard output.
    ExportOcds {
        /// Only tenders changed since this instant (RFC 3339).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Create a platform admin. The password is read from LUMBUNG_ADMIN_PASSWORD or the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env file is normal; variables may come from the environment alone.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    match cli.command {
        Command::ExportSchema => {
            print!("{}", lumbung_api::graphql::sdl(&settings.graphql));
        }
        Command::Migrate => {
            telemetry::init_logging(settings.log_format);
            infra::db::connect_and_migrate(&settings.database_url).await?;
            tracing::info!("database migrated");
        }
        Command::CreateAdmin { email, name } => {
            let password = match std::env::var("LUMBUNG_ADMIN_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    eprintln!("password for {email} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).context("reading the password")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let db = infra::db::connect_and_migrate(&settings.database_url).await?;
            let services = infra::services::Services::new(db, Arc::new(SystemClock), &settings)?;
            let user = services.identity.create_platform_admin(&email, &name, &password).await?;
            println!("platform admin {} created (id {})", user.email, user.id);
        }
        Command::ExportOcds { since } => {
            let db = infra::db::connect_and_migrate(&settings.database_url).await?;
            let services = infra::services::Services::new(db, Arc::new(SystemClock), &settings)?;
            print!("{}", services.open_data.bulk_unchecked(since).await?);
        }
        Command::Serve { bind, demo } => serve(settings, &bind, demo).await?,
    }
    Ok(())
}

async fn serve(settings: Settings, bind: &str, seed_demo: bool) -> anyhow::Result<()> {
    telemetry::init_logging(settings.log_format);
    if settings.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: generated a random one for this run; sessions end when the server restarts"
        );
    }
    let production = settings.is_production();
    if seed_demo && production {
        anyhow::bail!(
            "--demo seeds accounts whose password is public; it is refused when LUMBUNG_ENV=production \
             (create the first admin with `lumbung create-admin`)"
        );
    }
    let demo_settings = settings.clone();
    let application = Application::build(settings, bind, Arc::new(SystemClock)).await?;
    if seed_demo {
        match demo::seed(application.services(), &demo_settings).await {
            Ok(logins) => print_demo_logins(&logins),
            Err(infra::ServiceError::Conflict(message)) => {
                println!("demo data not seeded: {message}")
            }
            Err(error) => return Err(error.into()),
        }
    }
    let address = application.local_addr()?;
    tracing::info!(%address, production, "serving GraphQL at http://{address}/graphql");
    application.run_until(shutdown_signal()).await?;
    Ok(())
}

fn print_demo_logins(logins: &[demo::DemoLogin]) {
    println!("\nDemo logins (password for all: {})", demo::DEMO_PASSWORD);
    for login in logins {
        println!("  {:<16} {:<42} {}", login.role, login.email, login.organisation);
    }
    println!(
        "\nA demand pool for subsidised urea in Kedungkandang (season {}) is open for two days, with Cemorokandang's and\nMadyopuro's demand in; Kedungkandang's cooperative can still add its 4,000 kg. An NPK tender awarded three weeks\nago was delivered (Madyopuro refused a torn sack; Tani Makmur answered); Bulog won medium rice this morning (one\norder to dispatch, one to accept); an organic-fertiliser tender is open for two more days with Tani Makmur's bid in.\nThe console is at / on this server.\n",
        demo::SEASON
    );
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
