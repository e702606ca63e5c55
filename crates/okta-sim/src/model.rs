//! Records of the simulated org (users, groups, System Log events) with their Okta JSON shapes,
//! the filterable attributes each exposes, the seeded random source, Okta-looking ids and the name
//! tables the generator draws from.
//!
//! Records keep the few typed fields that filtering, sorting and mutations need next to their JSON,
//! which is serialized once (on creation or change) and then served by concatenation.

use bytes::Bytes;
use serde::Serialize;

use crate::clock::Ts;
use crate::filter::{AttrKind, Op, Subject, Val};

// ---------------------------------------------------------------------------------------------
// Random source and ids

/// SplitMix64's finalizer: a bijection on `u64` that scrambles well.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small, fast, seedable generator (SplitMix64). Stable across platforms and crate versions,
/// so a seed always yields the same org.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `stream`, item `idx` of seed `seed`: independent streams let chunks be
    /// generated in parallel and still come out the same.
    pub fn derive(seed: u64, stream: u64, idx: u64) -> Rng {
        Rng(mix64(
            seed ^ mix64(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix64(idx)),
        ))
    }

    /// The generator's state, to replay its draws later with [`Rng::from_state`].
    pub fn state(&self) -> u64 {
        self.0
    }

    /// A generator that continues from `state`.
    pub fn from_state(state: u64) -> Rng {
        Rng(state)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64;
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 20-character Okta-looking id: `prefix` (3 chars) and 17 base62 characters. Ids of the same
/// `kind` and seed are distinct for distinct `n` (the first 11 characters encode a bijection of
/// `n`).
pub fn okta_id(prefix: &str, seed: u64, kind: u64, n: u64) -> String {
    let salt = mix64(seed ^ kind.wrapping_mul(0xa076_1d64_78bd_642f));
    let mut v = mix64(n.wrapping_add(salt));
    let mut tail = mix64(v ^ salt);
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    for _ in 0..11 {
        s.push(BASE62[(v % 62) as usize] as char);
        v /= 62;
    }
    while s.len() < 20 {
        s.push(BASE62[(tail % 62) as usize] as char);
        tail /= 62;
    }
    s
}

/// A UUID-shaped string (version-1 layout, like System Log `uuid`s), distinct for distinct `n`.
pub fn event_uuid(seed: u64, n: u64, published_ms: i64) -> String {
    let unique = mix64(n ^ mix64(seed));
    let r = mix64(unique ^ 0x5151);
    let t = published_ms as u64;
    format!(
        "{:08x}-{:04x}-1{:03x}-{:04x}-{:012x}",
        (unique >> 32) as u32,
        (unique >> 16) as u16,
        (t & 0xfff) as u16,
        0x8000 | ((r >> 48) as u16 & 0x3fff),
        (unique & 0xffff) << 32 | (r & 0xffff_ffff)
    )
}

/// An `X-Okta-Request-Id`-looking string.
pub fn request_id(n: u64) -> String {
    let mut v = mix64(n ^ 0x0a0b_0c0d);
    let mut w = mix64(v);
    let mut s = String::with_capacity(27);
    for i in 0..27 {
        let src = if i < 11 { &mut v } else { &mut w };
        s.push(BASE62[(*src % 62) as usize] as char);
        *src /= 62;
        if i == 21 {
            w = mix64(w ^ n);
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Name tables

/// First names.
pub const FIRST_NAMES: &[&str] = &[
    "Alice",
    "Bob",
    "Carol",
    "David",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Uma",
    "Victor",
    "Walter",
    "Xavier",
    "Yara",
    "Zoe",
    "Aisha",
    "Bruno",
    "Chen",
    "Dmitri",
    "Elena",
    "Farah",
    "Goran",
    "Hana",
    "Isaac",
    "Jamal",
    "Keiko",
    "Luis",
    "Maya",
    "Nikolai",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sanjay",
    "Tomas",
    "Ulla",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zainab",
    "Amara",
    "Bjorn",
    "Camila",
    "Diego",
    "Esther",
    "Felix",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Paula",
    "Rafael",
    "Sofia",
    "Theo",
    "Valentina",
    "Wanjiru",
];

/// Last names.
pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Kowalski",
    "Novak",
    "Brock",
    "Okafor",
    "Tanaka",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Larsen",
    "Haddad",
];

/// Departments.
pub const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Legal",
    "Support",
    "Operations",
    "Product",
    "Security",
    "IT",
    "Research",
];

/// Job titles.
pub const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Staff Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Account Executive",
    "Designer",
    "Specialist",
    "Coordinator",
    "Consultant",
    "Vice President",
    "Administrator",
    "Architect",
];

/// (city, state, country code, zip).
pub const PLACES: &[(&str, &str, &str, &str)] = &[
    ("San Francisco", "CA", "US", "94107"),
    ("New York", "NY", "US", "10013"),
    ("Austin", "TX", "US", "73301"),
    ("Seattle", "WA", "US", "98101"),
    ("Chicago", "IL", "US", "60601"),
    ("Toronto", "ON", "CA", "M5H 2N2"),
    ("London", "", "GB", "EC1A 1BB"),
    ("Berlin", "", "DE", "10115"),
    ("Paris", "", "FR", "75001"),
    ("Sydney", "NSW", "AU", "2000"),
    ("Bengaluru", "KA", "IN", "560001"),
    ("Tokyo", "", "JP", "100-0001"),
];

/// Skills (the `skills` custom array attribute).
pub const SKILLS: &[&str] = &[
    "rust",
    "go",
    "python",
    "sql",
    "kubernetes",
    "terraform",
    "excel",
    "negotiation",
    "design",
    "security",
    "support",
    "java",
    "typescript",
    "finance",
    "writing",
];

/// Divisions.
pub const DIVISIONS: &[&str] = &["R&D", "Go-To-Market", "G&A", "Customer Success"];

// ---------------------------------------------------------------------------------------------
// Users

/// A user's profile, serialized flat like Okta's (custom attributes next to the base ones).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Base: first name.
    pub first_name: String,
    /// Base: last name.
    pub last_name: String,
    /// Base: mobile phone (often null).
    pub mobile_phone: Option<String>,
    /// Base: second email (often null).
    pub second_email: Option<String>,
    /// Base: login (unique).
    pub login: String,
    /// Base: primary email.
    pub email: String,
    /// Base: display name.
    pub display_name: String,
    /// Base: nickname.
    pub nick_name: Option<String>,
    /// Base: title.
    pub title: String,
    /// Base: department.
    pub department: String,
    /// Base: division.
    pub division: String,
    /// Base: organization.
    pub organization: String,
    /// Base: cost center.
    pub cost_center: String,
    /// Base: employee number.
    pub employee_number: String,
    /// Base: city.
    pub city: String,
    /// Base: state.
    pub state: String,
    /// Base: country code.
    pub country_code: String,
    /// Base: zip code.
    pub zip_code: String,
    /// Base: preferred language.
    pub preferred_language: String,
    /// Base: user type label.
    pub user_type: String,
    /// Custom (integer).
    pub employee_level: i64,
    /// Custom (boolean).
    pub is_contractor: bool,
    /// Custom (number).
    pub fte: f64,
    /// Custom (array of strings).
    pub skills: Vec<String>,
    /// Custom (string).
    pub badge_id: String,
    /// Custom string on the contractor user type only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contractor_agency: Option<String>,
    /// Custom string on the partner user type only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_company: Option<String>,
}

/// A user.
#[derive(Debug, Clone)]
pub struct User {
    /// `00u…` id.
    pub id: String,
    /// Okta status.
    pub status: &'static str,
    /// Creation time.
    pub created: i64,
    /// Activation time (null for STAGED).
    pub activated: Option<i64>,
    /// Last status change.
    pub status_changed: Option<i64>,
    /// Last login.
    pub last_login: Option<i64>,
    /// Last update.
    pub last_updated: i64,
    /// Last password change.
    pub password_changed: Option<i64>,
    /// User type id (`oty…`).
    pub type_id: String,
    /// Profile.
    pub profile: Profile,
    /// Serialized JSON, as served.
    pub json: Bytes,
}

#[derive(Serialize)]
struct IdRef<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct Href<'a> {
    href: &'a str,
}

#[derive(Serialize)]
struct SelfLinks<'a> {
    #[serde(rename = "self")]
    self_: Href<'a>,
}

#[derive(Serialize)]
struct Provider {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Credentials {
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Empty>,
    provider: Provider,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserJson<'a> {
    id: &'a str,
    status: &'a str,
    created: Ts,
    activated: Option<Ts>,
    status_changed: Option<Ts>,
    last_login: Option<Ts>,
    last_updated: Ts,
    password_changed: Option<Ts>,
    #[serde(rename = "type")]
    kind: IdRef<'a>,
    profile: &'a Profile,
    credentials: Credentials,
    #[serde(rename = "_links")]
    links: SelfLinks<'a>,
}

fn to_bytes<T: Serialize>(v: &T) -> Bytes {
    // Serializing these plain structs cannot fail (no maps with non-string keys, no I/O).
    Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

impl User {
    /// Serialize into `json` (call after every change).
    pub fn render(&mut self, base: &str) {
        let mut out = Vec::with_capacity(1024);
        self.write(base, &mut out);
        self.json = Bytes::from(out);
    }

    /// Append the user's JSON to `out`.
    pub fn write(&self, base: &str, out: &mut Vec<u8>) {
        let href = format!("{base}/api/v1/users/{}", self.id);
        let j = UserJson {
            id: &self.id,
            status: self.status,
            created: Ts(self.created),
            activated: self.activated.map(Ts),
            status_changed: self.status_changed.map(Ts),
            last_login: self.last_login.map(Ts),
            last_updated: Ts(self.last_updated),
            password_changed: self.password_changed.map(Ts),
            kind: IdRef { id: &self.type_id },
            profile: &self.profile,
            credentials: Credentials {
                password: self.password_changed.map(|_| Empty {}),
                provider: Provider {
                    kind: "OKTA",
                    name: "OKTA",
                },
            },
            links: SelfLinks {
                self_: Href { href: &href },
            },
        };
        write_json(out, &j);
    }
}

/// Attributes a user `search` may use, with their kinds.
pub const USER_ATTRS: &[(&str, AttrKind)] = &[
    ("id", AttrKind::Str),
    ("status", AttrKind::Str),
    ("created", AttrKind::Time),
    ("activated", AttrKind::Time),
    ("statusChanged", AttrKind::Time),
    ("lastUpdated", AttrKind::Time),
    ("lastLogin", AttrKind::Time),
    ("passwordChanged", AttrKind::Time),
    ("type.id", AttrKind::Str),
    ("profile.login", AttrKind::Str),
    ("profile.email", AttrKind::Str),
    ("profile.firstName", AttrKind::Str),
    ("profile.lastName", AttrKind::Str),
    ("profile.displayName", AttrKind::Str),
    ("profile.nickName", AttrKind::Str),
    ("profile.mobilePhone", AttrKind::Str),
    ("profile.secondEmail", AttrKind::Str),
    ("profile.title", AttrKind::Str),
    ("profile.department", AttrKind::Str),
    ("profile.division", AttrKind::Str),
    ("profile.organization", AttrKind::Str),
    ("profile.costCenter", AttrKind::Str),
    ("profile.employeeNumber", AttrKind::Str),
    ("profile.city", AttrKind::Str),
    ("profile.state", AttrKind::Str),
    ("profile.countryCode", AttrKind::Str),
    ("profile.zipCode", AttrKind::Str),
    ("profile.preferredLanguage", AttrKind::Str),
    ("profile.userType", AttrKind::Str),
    ("profile.employeeLevel", AttrKind::Num),
    ("profile.isContractor", AttrKind::Bool),
    ("profile.fte", AttrKind::Num),
    ("profile.skills", AttrKind::StrList),
    ("profile.badgeId", AttrKind::Str),
    ("profile.contractorAgency", AttrKind::Str),
    ("profile.partnerCompany", AttrKind::Str),
];

fn kind_of(table: &[(&str, AttrKind)], attr: &str) -> Option<AttrKind> {
    table.iter().find(|(n, _)| *n == attr).map(|(_, k)| *k)
}

/// Rules of `GET /api/v1/users?search=` (API.md §6): any listed attribute; `eq`, `sw`, ordering
/// and `pr`; `co` only on names, email and login; no `ne`/`ew`.
pub fn user_search_rules(attr: &str, op: Op) -> Result<AttrKind, String> {
    let kind =
        kind_of(USER_ATTRS, attr).ok_or_else(|| format!("Invalid search attribute '{attr}'"))?;
    let ok = match op {
        Op::Eq | Op::Pr => true,
        Op::Sw => matches!(kind, AttrKind::Str | AttrKind::StrList),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => kind != AttrKind::Bool,
        Op::Co => matches!(
            attr,
            "profile.firstName" | "profile.lastName" | "profile.email" | "profile.login"
        ),
        Op::Ne | Op::Ew => false,
    };
    if ok {
        Ok(kind)
    } else {
        Err(format!("Operator '{op:?}' is not supported for '{attr}'"))
    }
}

/// Rules of `GET /api/v1/users?filter=`: `status`, `lastUpdated`, `id`, `profile.login`,
/// `profile.email`, `profile.firstName`, `profile.lastName`; only `eq`, plus ordering on
/// `lastUpdated`.
pub fn user_filter_rules(attr: &str, op: Op) -> Result<AttrKind, String> {
    let kind = match attr {
        "lastUpdated" => AttrKind::Time,
        "status" | "id" | "profile.login" | "profile.email" | "profile.firstName"
        | "profile.lastName" => AttrKind::Str,
        _ => return Err(format!("Invalid filter attribute '{attr}'")),
    };
    if op == Op::Eq || (kind == AttrKind::Time && op.is_ordering()) {
        Ok(kind)
    } else {
        Err(format!("Operator '{op:?}' is not supported for '{attr}'"))
    }
}

fn opt_str(s: &Option<String>) -> Val<'_> {
    s.as_deref().map_or(Val::Missing, Val::Str)
}

fn opt_time(t: Option<i64>) -> Val<'static> {
    t.map_or(Val::Missing, Val::Time)
}

impl Subject for User {
    fn value(&self, attr: &str) -> Val<'_> {
        let p = &self.profile;
        match attr {
            "id" => Val::Str(&self.id),
            "status" => Val::Str(self.status),
            "created" => Val::Time(self.created),
            "activated" => opt_time(self.activated),
            "statusChanged" => opt_time(self.status_changed),
            "lastUpdated" => Val::Time(self.last_updated),
            "lastLogin" => opt_time(self.last_login),
            "passwordChanged" => opt_time(self.password_changed),
            "type.id" => Val::Str(&self.type_id),
            "profile.login" => Val::Str(&p.login),
            "profile.email" => Val::Str(&p.email),
            "profile.firstName" => Val::Str(&p.first_name),
            "profile.lastName" => Val::Str(&p.last_name),
            "profile.displayName" => Val::Str(&p.display_name),
            "profile.nickName" => opt_str(&p.nick_name),
            "profile.mobilePhone" => opt_str(&p.mobile_phone),
            "profile.secondEmail" => opt_str(&p.second_email),
            "profile.title" => Val::Str(&p.title),
            "profile.department" => Val::Str(&p.department),
            "profile.division" => Val::Str(&p.division),
            "profile.organization" => Val::Str(&p.organization),
            "profile.costCenter" => Val::Str(&p.cost_center),
            "profile.employeeNumber" => Val::Str(&p.employee_number),
            "profile.city" => Val::Str(&p.city),
            "profile.state" => Val::Str(&p.state),
            "profile.countryCode" => Val::Str(&p.country_code),
            "profile.zipCode" => Val::Str(&p.zip_code),
            "profile.preferredLanguage" => Val::Str(&p.preferred_language),
            "profile.userType" => Val::Str(&p.user_type),
            "profile.employeeLevel" => Val::Num(p.employee_level as f64),
            "profile.isContractor" => Val::Bool(p.is_contractor),
            "profile.fte" => Val::Num(p.fte),
            "profile.skills" => Val::Strs(p.skills.iter().map(String::as_str).collect()),
            "profile.badgeId" => Val::Str(&p.badge_id),
            "profile.contractorAgency" => opt_str(&p.contractor_agency),
            "profile.partnerCompany" => opt_str(&p.partner_company),
            _ => Val::Missing,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Groups

/// An Okta group's profile (custom attributes only on `OKTA_GROUP`s).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupProfile {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Custom (string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Custom (boolean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_privileged: Option<bool>,
    /// Custom (integer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<i64>,
    /// Custom (number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// Custom (array of strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// APP_GROUP (directory) attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_type: Option<String>,
    /// APP_GROUP (directory) attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sam_account_name: Option<String>,
    /// APP_GROUP (directory) attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// APP_GROUP (directory) attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows_domain_qualified_name: Option<String>,
}

/// A group.
#[derive(Debug, Clone)]
pub struct Group {
    /// `00g…` id.
    pub id: String,
    /// Creation time.
    pub created: i64,
    /// Last change of the group itself.
    pub last_updated: i64,
    /// Last membership change.
    pub last_membership_updated: i64,
    /// `OKTA_GROUP` or `APP_GROUP`.
    pub kind: &'static str,
    /// For `APP_GROUP`s, the directory app it comes from.
    pub source_app: Option<String>,
    /// Profile.
    pub profile: GroupProfile,
    /// Serialized JSON, as served.
    pub json: Bytes,
}

#[derive(Serialize)]
struct Logo<'a> {
    name: &'static str,
    href: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct GroupLinks<'a> {
    logo: [Logo<'a>; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Href<'a>>,
    users: Href<'a>,
    apps: Href<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupJson<'a> {
    id: &'a str,
    created: Ts,
    last_updated: Ts,
    last_membership_updated: Ts,
    object_class: [&'static str; 1],
    #[serde(rename = "type")]
    kind: &'static str,
    profile: &'a GroupProfile,
    #[serde(rename = "_links")]
    links: GroupLinks<'a>,
}

impl Group {
    /// Serialize into `json` (call after every change).
    pub fn render(&mut self, base: &str) {
        let (class, logo) = if self.kind == "APP_GROUP" {
            ("okta:windows_security_principal", "active_directory")
        } else {
            ("okta:user_group", "okta")
        };
        let medium = format!("{base}/img/logos/groups/{logo}-medium.png");
        let large = format!("{base}/img/logos/groups/{logo}-large.png");
        let users = format!("{base}/api/v1/groups/{}/users", self.id);
        let apps = format!("{base}/api/v1/groups/{}/apps", self.id);
        let source = self
            .source_app
            .as_ref()
            .map(|a| format!("{base}/api/v1/apps/{a}"));
        let j = GroupJson {
            id: &self.id,
            created: Ts(self.created),
            last_updated: Ts(self.last_updated),
            last_membership_updated: Ts(self.last_membership_updated),
            object_class: [class],
            kind: self.kind,
            profile: &self.profile,
            links: GroupLinks {
                logo: [
                    Logo {
                        name: "medium",
                        href: &medium,
                        kind: "image/png",
                    },
                    Logo {
                        name: "large",
                        href: &large,
                        kind: "image/png",
                    },
                ],
                source: source.as_deref().map(|href| Href { href }),
                users: Href { href: &users },
                apps: Href { href: &apps },
            },
        };
        self.json = to_bytes(&j);
    }
}

/// Attributes of group `filter`/`search`.
pub const GROUP_ATTRS: &[(&str, AttrKind)] = &[
    ("id", AttrKind::Str),
    ("type", AttrKind::Str),
    ("created", AttrKind::Time),
    ("lastUpdated", AttrKind::Time),
    ("lastMembershipUpdated", AttrKind::Time),
    ("profile.name", AttrKind::Str),
    ("profile.description", AttrKind::Str),
    ("profile.costCenter", AttrKind::Str),
    ("profile.isPrivileged", AttrKind::Bool),
    ("profile.tier", AttrKind::Num),
    ("profile.budget", AttrKind::Num),
    ("profile.tags", AttrKind::StrList),
];

/// Rules of `GET /api/v1/groups?search=`.
pub fn group_search_rules(attr: &str, op: Op) -> Result<AttrKind, String> {
    let kind =
        kind_of(GROUP_ATTRS, attr).ok_or_else(|| format!("Invalid search attribute '{attr}'"))?;
    let ok = match op {
        Op::Eq | Op::Pr => true,
        Op::Sw | Op::Co => matches!(kind, AttrKind::Str | AttrKind::StrList),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => kind != AttrKind::Bool,
        Op::Ne | Op::Ew => false,
    };
    if ok {
        Ok(kind)
    } else {
        Err(format!("Operator '{op:?}' is not supported for '{attr}'"))
    }
}

/// Rules of `GET /api/v1/groups?filter=`: `id`/`type` with `eq`, the three dates with `eq` and
/// ordering operators.
pub fn group_filter_rules(attr: &str, op: Op) -> Result<AttrKind, String> {
    let kind = match attr {
        "id" | "type" => AttrKind::Str,
        "lastUpdated" | "lastMembershipUpdated" | "created" => AttrKind::Time,
        _ => return Err(format!("Invalid filter attribute '{attr}'")),
    };
    if op == Op::Eq || (kind == AttrKind::Time && op.is_ordering()) {
        Ok(kind)
    } else {
        Err(format!("Operator '{op:?}' is not supported for '{attr}'"))
    }
}

impl Subject for Group {
    fn value(&self, attr: &str) -> Val<'_> {
        let p = &self.profile;
        match attr {
            "id" => Val::Str(&self.id),
            "type" => Val::Str(self.kind),
            "created" => Val::Time(self.created),
            "lastUpdated" => Val::Time(self.last_updated),
            "lastMembershipUpdated" => Val::Time(self.last_membership_updated),
            "profile.name" => Val::Str(&p.name),
            "profile.description" => Val::Str(&p.description),
            "profile.costCenter" => opt_str(&p.cost_center),
            "profile.isPrivileged" => p.is_privileged.map_or(Val::Missing, Val::Bool),
            "profile.tier" => p.tier.map_or(Val::Missing, |t| Val::Num(t as f64)),
            "profile.budget" => p.budget.map_or(Val::Missing, Val::Num),
            "profile.tags" => p.tags.as_ref().map_or(Val::Missing, |t| {
                Val::Strs(t.iter().map(String::as_str).collect())
            }),
            _ => Val::Missing,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// App assignments

#[derive(Serialize)]
struct AppUserLinks<'a> {
    app: Href<'a>,
    user: Href<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<GroupRef<'a>>,
}

#[derive(Serialize)]
struct GroupRef<'a> {
    name: &'a str,
    href: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppUserCreds<'a> {
    user_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppUserProfile<'a> {
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    display_name: &'a str,
    role: &'a str,
    second_email: Option<&'a str>,
    mobile_phone: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppUserJson<'a> {
    id: &'a str,
    external_id: Option<&'a str>,
    created: Ts,
    last_updated: Ts,
    scope: &'a str,
    status: &'a str,
    status_changed: Ts,
    password_changed: Option<Ts>,
    sync_state: &'a str,
    last_sync: Option<Ts>,
    credentials: AppUserCreds<'a>,
    profile: AppUserProfile<'a>,
    #[serde(rename = "_links")]
    links: AppUserLinks<'a>,
}

/// The inputs of one app-user (app assignment) object.
pub struct AppUserSpec<'a> {
    /// App id.
    pub app_id: &'a str,
    /// The user.
    pub user: &'a User,
    /// `USER` or `GROUP`.
    pub scope: &'a str,
    /// For `GROUP` scope, the group the assignment comes through (id, name).
    pub via_group: Option<(&'a str, &'a str)>,
    /// Assignment time.
    pub created: i64,
    /// Last change.
    pub last_updated: i64,
    /// Provisioned to the app (vs. only assigned).
    pub provisioned: bool,
    /// App role.
    pub role: &'a str,
    /// External id in the app, when provisioned.
    pub external_id: Option<&'a str>,
}

/// Append an app-user object (`GET /api/v1/apps/{id}/users`) to `out`.
pub fn write_app_user(base: &str, s: &AppUserSpec<'_>, out: &mut Vec<u8>) {
    let app = format!("{base}/api/v1/apps/{}", s.app_id);
    let user = format!("{base}/api/v1/users/{}", s.user.id);
    let group = s
        .via_group
        .map(|(gid, _)| format!("{base}/api/v1/groups/{gid}"));
    let p = &s.user.profile;
    let j = AppUserJson {
        id: &s.user.id,
        external_id: s.external_id,
        created: Ts(s.created),
        last_updated: Ts(s.last_updated),
        scope: s.scope,
        status: if s.provisioned {
            "PROVISIONED"
        } else {
            "ACTIVE"
        },
        status_changed: Ts(s.last_updated),
        password_changed: None,
        sync_state: if s.provisioned {
            "SYNCHRONIZED"
        } else {
            "DISABLED"
        },
        last_sync: s.provisioned.then_some(Ts(s.last_updated)),
        credentials: AppUserCreds {
            user_name: &p.login,
        },
        profile: AppUserProfile {
            email: &p.email,
            first_name: &p.first_name,
            last_name: &p.last_name,
            display_name: &p.display_name,
            role: s.role,
            second_email: p.second_email.as_deref(),
            mobile_phone: p.mobile_phone.as_deref(),
        },
        links: AppUserLinks {
            app: Href { href: &app },
            user: Href { href: &user },
            group: match (s.via_group, group.as_deref()) {
                (Some((_, name)), Some(href)) => Some(GroupRef { name, href }),
                _ => None,
            },
        },
    };
    write_json(out, &j);
}

// ---------------------------------------------------------------------------------------------
// System Log events

/// What a log event's target refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRef {
    /// No target.
    None,
    /// A user, by index into [`LogRefs::people`].
    User(u32),
    /// An app, by index into [`LogRefs::apps`].
    App(u32),
    /// A group, by index into [`LogRefs::groups`].
    Group(u32),
}

/// The actors and targets log events refer to (kept once, referenced by index, so a million
/// events don't carry a million copies of the same strings).
#[derive(Debug, Clone, Default)]
pub struct LogRefs {
    /// (id, login, display name).
    pub people: Vec<(String, String, String)>,
    /// (id, label).
    pub apps: Vec<(String, String)>,
    /// (id, name).
    pub groups: Vec<(String, String)>,
}

impl LogRefs {
    /// The id of a target.
    pub fn target_id(&self, t: TargetRef) -> Option<&str> {
        match t {
            TargetRef::None => None,
            TargetRef::User(i) => self.people.get(i as usize).map(|p| p.0.as_str()),
            TargetRef::App(i) => self.apps.get(i as usize).map(|a| a.0.as_str()),
            TargetRef::Group(i) => self.groups.get(i as usize).map(|g| g.0.as_str()),
        }
    }
}

/// A System Log event.
#[derive(Debug, Clone)]
pub struct LogEvent {
    /// `published`.
    pub published: i64,
    /// When Okta committed it (polling order); at or after `published`.
    pub persisted: i64,
    /// `uuid` (ASCII).
    pub uuid: [u8; 36],
    /// Index into [`EVENT_TYPES`].
    pub kind: u8,
    /// `outcome.result`.
    pub outcome: &'static str,
    /// `actor`, index into [`LogRefs::people`].
    pub actor: u32,
    /// `target[]`.
    pub targets: [TargetRef; 2],
    /// Event number (drives the `uuid`).
    pub n: u64,
    /// State of the random stream its details are drawn from: the JSON is regenerated from it on
    /// demand instead of being held in memory (a large org has millions of events).
    pub rng: u64,
    /// An event written by a mutation (see [`crate::changes`]): its own type, actor, targets and
    /// JSON, instead of the generated ones.
    pub custom: Option<Box<CustomEvent>>,
}

/// An actor or a target of a System Log event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    /// `id`.
    pub id: String,
    /// `type` (`User`, `UserGroup`, `AppInstance`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `alternateId`.
    pub alternate_id: String,
    /// `displayName`.
    pub display_name: String,
    /// `detailEntry`.
    pub detail_entry: Option<serde_json::Value>,
}

impl Party {
    /// A party without `detailEntry`.
    pub fn new(
        id: impl Into<String>,
        kind: &'static str,
        alternate_id: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Party {
        Party {
            id: id.into(),
            kind,
            alternate_id: alternate_id.into(),
            display_name: display_name.into(),
            detail_entry: None,
        }
    }

    /// With a `detailEntry`.
    #[must_use]
    pub fn detail(mut self, v: serde_json::Value) -> Party {
        self.detail_entry = Some(v);
        self
    }
}

/// The parts of a mutation's event that filters need, and its JSON as served.
#[derive(Debug, Clone)]
pub struct CustomEvent {
    /// `eventType`.
    pub event_type: &'static str,
    /// `legacyEventType`.
    pub legacy: Option<&'static str>,
    /// `severity`.
    pub severity: &'static str,
    /// `actor`.
    pub actor: Party,
    /// `target[]`.
    pub targets: Vec<Party>,
    /// The event's JSON.
    pub json: Bytes,
}

impl LogEvent {
    /// `uuid` as a string.
    pub fn uuid(&self) -> &str {
        std::str::from_utf8(&self.uuid).unwrap_or("")
    }

    /// `eventType`.
    pub fn event_type(&self) -> &'static str {
        match &self.custom {
            Some(c) => c.event_type,
            None => EVENT_TYPES[self.kind as usize % EVENT_TYPES.len()].0,
        }
    }
}

/// A log event with the references it needs to answer filter attributes.
pub struct LogView<'a> {
    /// The event.
    pub event: &'a LogEvent,
    /// Actors and targets.
    pub refs: &'a LogRefs,
}

/// Attributes of the System Log `filter`. `published` is refused, as by Okta.
pub fn log_filter_rules(attr: &str, op: Op) -> Result<AttrKind, String> {
    let kind = match attr {
        "eventType" | "legacyEventType" | "uuid" | "severity" | "outcome.result" | "actor.id"
        | "actor.alternateId" | "actor.type" => AttrKind::Str,
        "target.id" => AttrKind::StrList,
        "published" => return Err("The 'published' attribute can't be used in filter".into()),
        _ => return Err(format!("Invalid filter attribute '{attr}'")),
    };
    match op {
        Op::Eq | Op::Ne | Op::Sw | Op::Co | Op::Ew | Op::Pr => Ok(kind),
        _ => Err(format!("Operator '{op:?}' is not supported for '{attr}'")),
    }
}

impl Subject for LogView<'_> {
    fn value(&self, attr: &str) -> Val<'_> {
        let e = self.event;
        if let Some(c) = &e.custom {
            return match attr {
                "eventType" => Val::Str(c.event_type),
                "legacyEventType" => c.legacy.map_or(Val::Missing, Val::Str),
                "uuid" => Val::Str(e.uuid()),
                "severity" => Val::Str(c.severity),
                "outcome.result" => Val::Str(e.outcome),
                "actor.id" => Val::Str(&c.actor.id),
                "actor.alternateId" => Val::Str(&c.actor.alternate_id),
                "actor.type" => Val::Str(c.actor.kind),
                "target.id" => Val::Strs(c.targets.iter().map(|t| t.id.as_str()).collect()),
                _ => Val::Missing,
            };
        }
        let spec = &EVENT_TYPES[e.kind as usize % EVENT_TYPES.len()];
        let actor = self.refs.people.get(e.actor as usize);
        match attr {
            "eventType" => Val::Str(spec.0),
            "legacyEventType" => spec.1.map_or(Val::Missing, Val::Str),
            "uuid" => Val::Str(e.uuid()),
            "severity" => Val::Str(spec.3),
            "outcome.result" => Val::Str(e.outcome),
            "actor.id" => actor.map_or(Val::Missing, |a| Val::Str(&a.0)),
            "actor.alternateId" => actor.map_or(Val::Missing, |a| Val::Str(&a.1)),
            "actor.type" => Val::Str("User"),
            "target.id" => Val::Strs(
                e.targets
                    .iter()
                    .filter_map(|t| self.refs.target_id(*t))
                    .collect(),
            ),
            _ => Val::Missing,
        }
    }
}

/// An event type the generator emits: (eventType, legacyEventType, displayMessage, severity,
/// relative weight, kind of target).
pub type EventTypeSpec = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    u32,
    &'static str,
);

/// The event types the generator emits.
pub const EVENT_TYPES: &[EventTypeSpec] = &[
    (
        "user.session.start",
        Some("core.user_auth.login_success"),
        "User login to Okta",
        "INFO",
        30,
        "app",
    ),
    (
        "user.authentication.sso",
        Some("app.auth.sso"),
        "User single sign on to app",
        "INFO",
        25,
        "app",
    ),
    (
        "user.authentication.auth_via_mfa",
        Some("core.user.factor.attempt_success"),
        "Authentication of user via MFA",
        "INFO",
        12,
        "user",
    ),
    (
        "user.session.end",
        Some("core.user_auth.logout_success"),
        "User logout from Okta",
        "INFO",
        8,
        "none",
    ),
    (
        "policy.evaluate_sign_on",
        None,
        "Evaluation of sign-on policy",
        "INFO",
        8,
        "app",
    ),
    (
        "user.account.update_profile",
        Some("core.user.config.profile_update.success"),
        "Update user profile for Okta",
        "INFO",
        4,
        "user",
    ),
    (
        "group.user_membership.add",
        Some("core.user_group_member.user_add"),
        "Add user to group membership",
        "INFO",
        3,
        "group",
    ),
    (
        "group.user_membership.remove",
        Some("core.user_group_member.user_remove"),
        "Remove user from group membership",
        "INFO",
        1,
        "group",
    ),
    (
        "application.user_membership.add",
        Some("app.generic.provision.assign_user_to_app"),
        "Add user to application membership",
        "INFO",
        2,
        "app",
    ),
    (
        "user.lifecycle.create",
        Some("core.user.config.user_creation.success"),
        "Create Okta user",
        "INFO",
        1,
        "user",
    ),
    (
        "user.lifecycle.deactivate",
        Some("core.user.config.user_deactivated"),
        "Deactivate Okta user",
        "INFO",
        1,
        "user",
    ),
    (
        "user.account.lock",
        Some("core.user_auth.account_locked"),
        "Max sign in attempts exceeded",
        "WARN",
        1,
        "user",
    ),
    (
        "system.org.rate_limit.warning",
        None,
        "Rate limit warning",
        "WARN",
        1,
        "none",
    ),
    (
        "security.threat.detected",
        None,
        "Request from suspicious actor",
        "WARN",
        1,
        "none",
    ),
];

/// The legacy event type of `event_type`.
pub fn legacy_event_type(event_type: &str) -> Option<&'static str> {
    EVENT_TYPES
        .iter()
        .find(|e| e.0 == event_type)
        .and_then(|e| e.1)
}

/// Append `v`'s JSON to `out` (serializing these plain structs cannot fail).
pub fn write_json<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    let mark = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(mark);
        out.extend_from_slice(b"{}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_okta_shaped() {
        let mut seen = HashSet::new();
        for n in 0..20_000 {
            let id = okta_id("00u", 42, 1, n);
            assert_eq!(id.len(), 20);
            assert!(id.starts_with("00u"));
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(seen.insert(id));
        }
        assert_ne!(okta_id("00u", 42, 1, 0), okta_id("00u", 43, 1, 0));
        assert_eq!(okta_id("00u", 42, 1, 7), okta_id("00u", 42, 1, 7));
    }

    #[test]
    fn uuids_are_unique() {
        let mut seen = HashSet::new();
        for n in 0..20_000 {
            let u = event_uuid(42, n, 1_700_000_000_000);
            assert_eq!(u.len(), 36);
            assert!(seen.insert(u));
        }
    }

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let mut a = Rng::derive(1, 2, 3);
        let mut b = Rng::derive(1, 2, 3);
        for _ in 0..1000 {
            let x = a.below(7);
            assert_eq!(x, b.below(7));
            assert!(x < 7);
            let r = a.range(-5, 5);
            assert_eq!(r, b.range(-5, 5));
            assert!((-5..5).contains(&r));
        }
    }
}
