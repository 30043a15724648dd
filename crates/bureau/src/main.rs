//! `fieldlead-bureau`: initialise a data folder, add districts and users, issue
//! enrolment codes, revoke devices, and serve the API and the console.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use fieldlead_bureau::{qr, secrets, Actor, Bureau, Config, DataPaths, Role};
use fieldlead_domain::DeviceId;

#[derive(Parser)]
#[command(
    name = "fieldlead-bureau",
    version,
    about = "区县局线索接收服务器（fieldlead）"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the data folder: bureau.toml, bureau.key, database, blob folders.
    Init {
        #[arg(long)]
        data: PathBuf,
    },
    /// Serves the API and the console.
    Serve {
        #[arg(long)]
        data: PathBuf,
        /// Overrides `listen` in bureau.toml.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Districts (区县局).
    District {
        #[command(subcommand)]
        command: DistrictCommand,
    },
    /// Console users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Issues a one-time enrolment code for a tablet, with its QR code.
    Enrol {
        #[arg(long)]
        data: PathBuf,
        /// District code, e.g. yuzhong.
        #[arg(long)]
        district: String,
        /// Where to write the QR code PNG (default: a file under DATA/enrolment/,
        /// removed once the code is used).
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Devices (tablets).
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Imports a lead bundle carried on a USB stick, with the same checks as the
    /// API (signature, chain, every file's hash, enrolled device); prints the
    /// receipt.
    Import {
        #[arg(long)]
        data: PathBuf,
        bundle: PathBuf,
    },
    /// The working-day calendar (工作日历) the deadlines are counted with: the State
    /// Council's holiday notices, built in, and DATA/workday-calendar.toml if given.
    Calendar {
        /// A data folder whose workday-calendar.toml adds or corrects years.
        #[arg(long, global = true)]
        data: Option<PathBuf>,
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Copies the built-in document templates (附件1-8, the transfer form) into
    /// DATA/templates to be edited there; files already there are left alone.
    /// The bureau prints with the folder's templates from the next document on.
    Templates {
        #[arg(long)]
        data: PathBuf,
    },
    /// Backs up the embedded store (SQLite and the data folder's files) into the
    /// new folder TO, beside a live server: a consistent copy of the database,
    /// the key, the settings and every blob, listed with their SHA-256 and read
    /// back before the folder takes its name.
    Backup {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        to: PathBuf,
    },
    /// Restores a backup into a new data folder, checking every file against the
    /// backup's list; nothing is left behind if one does not match.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        data: PathBuf,
    },
    /// Moves an embedded bureau (stopped) into a city's PostgreSQL and S3-compatible
    /// store: every row, compared table by table, and every blob, hashed again
    /// as the object store returns it. The targets must be empty; the data
    /// folder is left as it was. The object store's endpoint and credentials come
    /// from the AWS_* variables.
    Migrate {
        #[arg(long)]
        data: PathBuf,
        /// postgres://user:password@host:port/database
        #[arg(long)]
        to_database: String,
        /// s3://bucket/prefix
        #[arg(long)]
        to_blobs: String,
    },
    /// Starts a demo: initialises DATA if needed, creates a demo district and four
    /// users with fresh printed passwords, issues an enrolment code, and serves over
    /// plain HTTP (session cookies without `Secure`, for a trial on one machine).
    Demo {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: SocketAddr,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Prints `true` if DATE (YYYY-MM-DD) is a working day, else `false`.
    IsWorkday { date: NaiveDate },
    /// Prints the date N working days after DATE ("N 个工作日", counted from the
    /// day after DATE).
    WorkdaysAfter { date: NaiveDate, n: u32 },
    /// Prints the last day of an N-day period from DATE ("N 日": counted from the
    /// day after DATE; a last day that is a rest day or holiday moves to the next
    /// working day).
    DaysAfter { date: NaiveDate, n: u32 },
    /// Lists the loaded years and the notice each comes from.
    Years,
}

#[derive(Subcommand)]
enum DistrictCommand {
    Add {
        #[arg(long)]
        data: PathBuf,
        /// Short code: lower-case letters, digits, hyphens.
        code: String,
        /// Full name, e.g. 渝中区市场监督管理局.
        name: String,
    },
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user; prints a generated password unless FIELDLEAD_NEW_PASSWORD is set.
    Add {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        username: String,
        /// Name shown in the console and the audit log.
        #[arg(long)]
        name: String,
        /// officer (后处理 and leads), reviewer, city_admin or enforcement (执法办案).
        #[arg(long)]
        role: String,
        /// District code; required for every role but city_admin.
        #[arg(long)]
        district: Option<String>,
    },
    /// Sets a new generated password (or FIELDLEAD_NEW_PASSWORD) and ends the user's sessions.
    Passwd {
        #[arg(long)]
        data: PathBuf,
        username: String,
    },
    List {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    List {
        #[arg(long)]
        data: PathBuf,
    },
    /// Stops a device from sending anything more.
    Revoke {
        #[arg(long)]
        data: PathBuf,
        id: DeviceId,
    },
}

/// Opens the data folder for a command that may run beside a live server.
fn open(data: &Path) -> anyhow::Result<Bureau> {
    let config = Config::load(&DataPaths::new(data), std::env::vars())?;
    Ok(Bureau::open_beside(data, config)?)
}

/// Names blobs whose bytes no longer match their hash (copied as they are).
fn report_damaged(damaged: &[fieldlead_domain::Sha256]) {
    for sha in damaged {
        eprintln!("警告：证据文件 {sha} 的内容与其哈希不符（按原样复制），请核查");
    }
}

fn new_password() -> String {
    std::env::var("FIELDLEAD_NEW_PASSWORD").unwrap_or_else(|_| secrets::new_password())
}

fn print_code(bureau: &Bureau, district: &str, png: Option<PathBuf>) -> anyhow::Result<()> {
    let district = bureau.district(district)?;
    let issued = bureau.issue_enrolment_code(&district, &Actor::Cli)?;
    let text = issued.invite.to_qr_text();
    // By default under DATA/enrolment/, named after a hash (not the code) and
    // removed by the server once the code is used.
    let png = match png {
        Some(p) => p,
        None => {
            let p = bureau
                .paths()
                .enrolment_png(&secrets::token_hash(issued.code.as_str()));
            let dir = p.parent().expect("enrolment PNG has a folder");
            std::fs::create_dir_all(dir)?;
            fieldlead_bureau::lock::restrict(dir, true)?;
            p
        }
    };
    qr::write_png(&text, &png)?;
    fieldlead_bureau::lock::restrict(&png, false)?;
    println!("{}", qr::terminal(&text)?);
    println!("设备注册码（{}）：{}", district.name, issued.code);
    println!("服务器地址：{}", issued.invite.server);
    println!("区县局密钥指纹：{}", issued.invite.bureau_key_fingerprint);
    println!(
        "有效期至：{}（只能使用一次）",
        issued.expires_at.to_rfc3339()
    );
    println!("二维码图片：{}", png.display());
    Ok(())
}

async fn serve(bureau: Bureau, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("无法监听 {listen}"))?;
    println!(
        "fieldlead-bureau 正在 http://{} 上服务（Ctrl-C 停止）",
        listener.local_addr()?
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    fieldlead_bureau::server::serve(Arc::new(bureau), listener, shutdown).await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Templates { data } => {
            let dir = data.join("templates");
            let written = fieldlead_forms::export_default_templates(&dir)?;
            if written.is_empty() {
                println!("{} 中已有全部模板，未改动", dir.display());
            }
            for name in written {
                println!("已写入 {}", dir.join(name).display());
            }
        }
        Command::Calendar { data, command } => {
            let calendar = match &data {
                Some(d) => DataPaths::new(d)
                    .load_calendar()
                    .map_err(anyhow::Error::msg)?,
                None => fieldlead_domain::calendar::Calendar::builtin(),
            };
            match command {
                CalendarCommand::IsWorkday { date } => println!("{}", calendar.is_workday(date)?),
                CalendarCommand::WorkdaysAfter { date, n } => {
                    println!("{}", calendar.workdays_after(date, n)?)
                }
                CalendarCommand::DaysAfter { date, n } => {
                    println!("{}", calendar.days_after(date, n)?)
                }
                CalendarCommand::Years => {
                    for t in calendar.years() {
                        println!("{}\t{}\t{}", t.year, t.published, t.notice);
                    }
                }
            }
        }
        Command::Backup { data, to } => {
            let config = Config::load(&DataPaths::new(&data), std::env::vars())?;
            let summary = fieldlead_bureau::ops::backup(&data, &config, &to)?;
            println!(
                "已备份到 {}：{} 个文件（其中 {} 个证据文件），共 {} 字节，均已读回核对",
                to.display(),
                summary.files,
                summary.blobs,
                summary.bytes
            );
            report_damaged(&summary.damaged);
        }
        Command::Restore { from, data } => {
            let summary = fieldlead_bureau::ops::restore(&from, &data)?;
            println!(
                "已从 {} 恢复到 {}：{} 个文件（其中 {} 个证据文件），均与备份清单一致",
                from.display(),
                data.display(),
                summary.files,
                summary.blobs
            );
            report_damaged(&summary.damaged);
        }
        Command::Migrate {
            data,
            to_database,
            to_blobs,
        } => {
            // The data folder's own store, whatever the city's variables in this
            // shell say; they name the target.
            let city_only = [
                fieldlead_bureau::config::DATABASE_URL_ENV,
                fieldlead_bureau::config::BLOBS_URL_ENV,
                "FIELDLEAD_BUREAU_DATABASE_URL",
                "FIELDLEAD_BUREAU_BLOBS_URL",
            ];
            let env = std::env::vars().filter(|(k, _)| !city_only.contains(&k.as_str()));
            let source = Config::load(&DataPaths::new(&data), env)?;
            let mut target = source.clone();
            target.database_url = Some(to_database);
            target.blobs_url = Some(to_blobs);
            let summary = fieldlead_bureau::ops::migrate(&data, &source, &target)?;
            for (table, rows) in &summary.rows {
                println!("{table}\t{rows} 行");
            }
            println!(
                "已迁移：各表逐行核对一致；{} 个文件（{} 字节）已写入对象存储并重新校验哈希",
                summary.blobs, summary.blob_bytes
            );
            println!("此后各实例请设置 FIELDLEAD_DATABASE_URL 与 FIELDLEAD_BLOBS_URL，并使用本数据目录的 bureau.key");
        }
        Command::Init { data } => {
            Bureau::init(&data)?;
            println!("已初始化数据目录 {}", data.display());
            println!(
                "下一步：fieldlead-bureau district add --data {} CODE NAME",
                data.display()
            );
        }
        Command::Import { data, bundle } => {
            let outcome = open(&data)?.import_bundle(&bundle)?;
            println!(
                "{} 线索 {}（写入 {} 个文件）",
                if outcome.created {
                    "已导入"
                } else {
                    "本局已有此线索"
                },
                outcome.lead_id,
                outcome.blobs_written
            );
            if let Some(r) = outcome.receipt {
                println!("{}", serde_json::to_string_pretty(&r)?);
            }
        }
        Command::Serve { data, listen } => {
            let mut config = Config::load(&DataPaths::new(&data), std::env::vars())?;
            if let Some(l) = listen {
                config.listen = l;
            }
            let listen = config.listen;
            let bureau = Bureau::open(&data, config)?;
            tokio::runtime::Runtime::new()?.block_on(serve(bureau, listen))?;
        }
        Command::District { command } => match command {
            DistrictCommand::Add { data, code, name } => {
                let d = open(&data)?.create_district(&code, &name, &Actor::Cli)?;
                println!("已添加区县 {}（{}）", d.name, d.code);
            }
            DistrictCommand::List { data } => {
                for d in open(&data)?.storage().districts()? {
                    println!("{}\t{}", d.code, d.name);
                }
            }
        },
        Command::User { command } => match command {
            UserCommand::Add {
                data,
                username,
                name,
                role,
                district,
            } => {
                let Ok(role) = role.parse::<Role>() else {
                    bail!("角色应为 {} 之一", Role::ALL.map(|r| r.as_str()).join("、"));
                };
                let password = new_password();
                let u = open(&data)?.add_user(
                    &username,
                    &name,
                    role,
                    district.as_deref(),
                    &password,
                    &Actor::Cli,
                )?;
                println!(
                    "已添加用户 {}（{}，{}）",
                    u.username,
                    u.display_name,
                    role.label_zh()
                );
                println!("初始密码：{password}");
            }
            UserCommand::Passwd { data, username } => {
                let password = new_password();
                open(&data)?.set_password(&username, &password, &Actor::Cli)?;
                println!("{username} 的新密码：{password}");
            }
            UserCommand::List { data } => {
                for u in open(&data)?.storage().users()? {
                    let district = u.district.map(|d| d.code).unwrap_or_else(|| "-".into());
                    println!(
                        "{}\t{}\t{}\t{}",
                        u.username,
                        u.role.as_str(),
                        district,
                        u.display_name
                    );
                }
            }
        },
        Command::Enrol {
            data,
            district,
            png,
        } => {
            let bureau = open(&data)?;
            print_code(&bureau, &district, png)?;
        }
        Command::Device { command } => match command {
            DeviceCommand::List { data } => {
                let bureau = open(&data)?;
                for d in bureau
                    .storage()
                    .devices(fieldlead_bureau::storage::Scope::All)?
                {
                    let state = if d.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!("{}\t{}\t{}\t{}", d.id, d.district.code, state, d.label);
                }
            }
            DeviceCommand::Revoke { data, id } => {
                let d = open(&data)?.revoke_device(None, id)?;
                println!("已停用设备 {}（{}）", d.label, d.id);
            }
        },
        Command::Demo { data, listen } => {
            Bureau::init(&data)?;
            let mut config = Config::load(&DataPaths::new(&data), std::env::vars())?;
            config.listen = listen;
            config.cookie_secure = false;
            if config.public_url.is_none() {
                config.public_url = Some(format!("http://{listen}"));
            }
            let bureau = Bureau::open(&data, config)?;
            if bureau.storage().district_by_code("demo")?.is_none() {
                bureau.create_district("demo", "演示区市场监督管理局", &Actor::Cli)?;
            }
            println!("演示区县：demo（演示区市场监督管理局）");
            for (username, name, role, district) in [
                ("officer", "演示承办人员", Role::Officer, Some("demo")),
                ("reviewer", "演示证据审核员", Role::Reviewer, Some("demo")),
                ("city", "演示市局质监处", Role::CityAdmin, None),
                (
                    "enforcement",
                    "演示执法办案部门",
                    Role::Enforcement,
                    Some("demo"),
                ),
            ] {
                let password = new_password();
                if bureau.storage().user_credentials(username)?.is_some() {
                    bureau.set_password(username, &password, &Actor::Cli)?;
                } else {
                    bureau.add_user(username, name, role, district, &password, &Actor::Cli)?;
                }
                println!("用户 {username}（{}）密码：{password}", role.label_zh());
            }
            print_code(&bureau, "demo", None)?;
            tokio::runtime::Runtime::new()?.block_on(serve(bureau, listen))?;
        }
    }
    Ok(())
}
