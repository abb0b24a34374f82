//! Wire shapes of the FNO SOAP bodies, rendered and parsed with quick-xml's serde support.
//! Field order = the WSDL's `xsd:sequence` order (EOS v4, UAH v3, PPS v2); a field added here
//! must go where the schema puts it.

use mapping::fno;
use serde::{Deserialize, Serialize};

pub const NS_UAH: &str = "urn:v3.webservices.operations.flexnet.com";
pub const NS_EOS: &str = "urn:v4.webservices.operations.flexnet.com";
pub const NS_PPS: &str = "urn:v2.webservices.operations.flexnet.com";

// ------------------------------------------------------------------ request atoms

#[derive(Serialize, Debug)]
pub struct Attr {
    #[serde(rename = "attributeName")]
    pub name: String,
    #[serde(rename = "stringValue", skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(rename = "dateValue", skip_serializing_if = "Option::is_none")]
    pub date_value: Option<String>,
    #[serde(rename = "booleanValue", skip_serializing_if = "Option::is_none")]
    pub boolean_value: Option<bool>,
    #[serde(rename = "integerValue", skip_serializing_if = "Option::is_none")]
    pub integer_value: Option<i64>,
}

#[derive(Serialize, Debug)]
pub struct Attrs {
    pub attribute: Vec<Attr>,
}

pub fn attrs(list: &[fno::Attribute]) -> Option<Attrs> {
    if list.is_empty() {
        return None;
    }
    Some(Attrs {
        attribute: list
            .iter()
            .map(|a| {
                let mut w = Attr {
                    name: a.name.clone(),
                    string_value: None,
                    date_value: None,
                    boolean_value: None,
                    integer_value: None,
                };
                match &a.value {
                    fno::AttributeValue::String(s) => w.string_value = Some(s.clone()),
                    fno::AttributeValue::Integer(i) => w.integer_value = Some(*i),
                    fno::AttributeValue::Boolean(b) => w.boolean_value = Some(*b),
                    fno::AttributeValue::Date(d) => w.date_value = Some(d.to_string()),
                }
                w
            })
            .collect(),
    })
}

#[derive(Serialize, Debug)]
pub struct PkId {
    pub id: String,
}

#[derive(Serialize, Debug)]
pub struct AcctIdent {
    #[serde(rename = "primaryKeys")]
    pub primary_keys: PkId,
}

impl AcctIdent {
    pub fn new(id: &str) -> Self {
        AcctIdent {
            primary_keys: PkId { id: id.to_owned() },
        }
    }
}

#[derive(Serialize, Debug)]
pub struct SimpleQuery {
    pub value: String,
    #[serde(rename = "searchType")]
    pub search_type: &'static str,
}

impl SimpleQuery {
    pub fn eq(v: &str) -> Self {
        SimpleQuery {
            value: v.to_owned(),
            search_type: "EQUALS",
        }
    }
}

/// `DateTimeQueryType` / `DateQueryType` / `StateQueryType` share this shape.
#[derive(Serialize, Debug)]
pub struct ValueQuery {
    pub value: String,
    #[serde(rename = "searchType")]
    pub search_type: &'static str,
}

pub fn account_type(t: fno::AccountType) -> &'static str {
    match t {
        fno::AccountType::Customer => "CUSTOMER",
        fno::AccountType::ChannelPartner => "CHANNEL_PARTNER",
        fno::AccountType::SelfRegistered => "SELF_REGISTERED",
        fno::AccountType::Publisher => "PUBLISHER",
        // never sent on create (see the model); the closest schema value is CUSTOMER
        fno::AccountType::Unknown => "CUSTOMER",
    }
}

pub fn parse_account_type(s: &str) -> fno::AccountType {
    match s {
        "CUSTOMER" => fno::AccountType::Customer,
        "CHANNEL_PARTNER" => fno::AccountType::ChannelPartner,
        "SELF_REGISTERED" => fno::AccountType::SelfRegistered,
        "PUBLISHER" => fno::AccountType::Publisher,
        _ => fno::AccountType::Unknown,
    }
}

pub fn op_type(o: fno::OpType) -> &'static str {
    match o {
        fno::OpType::CreateOrUpdate => "CREATE_OR_UPDATE",
        fno::OpType::CreateOrIgnore => "CREATE_OR_IGNORE",
    }
}

pub fn state(s: fno::State) -> &'static str {
    match s {
        fno::State::Draft => "DRAFT",
        fno::State::Active => "ACTIVE",
        fno::State::Inactive => "INACTIVE",
        fno::State::Deployed => "DEPLOYED",
        fno::State::Obsolete => "OBSOLETE",
        fno::State::Test => "TEST",
        fno::State::OnHold => "ON_HOLD",
    }
}

pub fn parse_state(s: &str) -> Option<fno::State> {
    Some(match s {
        "DRAFT" => fno::State::Draft,
        "ACTIVE" => fno::State::Active,
        "INACTIVE" => fno::State::Inactive,
        "DEPLOYED" => fno::State::Deployed,
        "OBSOLETE" => fno::State::Obsolete,
        "TEST" => fno::State::Test,
        "ON_HOLD" => fno::State::OnHold,
        _ => return None,
    })
}

fn start_date_option(o: fno::StartDateOption) -> &'static str {
    match o {
        fno::StartDateOption::DefineNow => "DEFINE_NOW",
        fno::StartDateOption::DefineAtFirstActivation => "DEFINE_AT_FIRST_ACTIVATION",
        fno::StartDateOption::DefineAtEachActivation => "DEFINE_AT_EACH_ACTIVATION",
        fno::StartDateOption::DefineActdateAtFirstActivation => {
            "DEFINE_ACTDATE_AT_FIRST_ACTIVATION"
        }
        fno::StartDateOption::DefineActdateAtEachActivation => "DEFINE_ACTDATE_AT_EACH_ACTIVATION",
    }
}

fn duration_unit(u: fno::DurationUnit) -> &'static str {
    match u {
        fno::DurationUnit::Days => "DAYS",
        fno::DurationUnit::Weeks => "WEEKS",
        fno::DurationUnit::Months => "MONTHS",
        fno::DurationUnit::Years => "YEARS",
    }
}

fn line_item_type(t: fno::LineItemType) -> &'static str {
    match t {
        fno::LineItemType::Upgrade => "UPGRADE",
        fno::LineItemType::Upsell => "UPSELL",
        fno::LineItemType::Renewal => "RENEWAL",
    }
}

// ------------------------------------------------------------------ UAH v3 requests

#[derive(Serialize, Debug)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

fn address(a: &Option<fno::Address>) -> Option<Address> {
    a.as_ref().map(|a| Address {
        address1: a.address1.clone(),
        address2: a.address2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zipcode: a.zipcode.clone(),
        country: a.country.clone(),
        region: a.region.clone(),
    })
}

/// `accountDataType`
#[derive(Serialize, Debug)]
pub struct AccountData {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(rename = "accountType", skip_serializing_if = "Option::is_none")]
    pub account_type: Option<&'static str>,
    #[serde(rename = "customAttributes", skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Attrs>,
}

impl From<&fno::Account> for AccountData {
    fn from(a: &fno::Account) -> Self {
        AccountData {
            id: a.id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            address: address(&a.address),
            visible: a.visible,
            account_type: a
                .account_type
                .filter(|t| *t != fno::AccountType::Unknown)
                .map(account_type),
            custom_attributes: attrs(&a.attributes),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct CreateAcctRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub account: Vec<AccountData>,
    #[serde(rename = "opType", skip_serializing_if = "Option::is_none")]
    pub op_type: Option<&'static str>,
}

/// `updateAcctDataType` (the account keeps its id; the other values are replaced).
#[derive(Serialize, Debug)]
pub struct UpdateAcctData {
    pub account: AcctIdent,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(rename = "customAttributes", skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Attrs>,
}

impl From<&fno::Account> for UpdateAcctData {
    fn from(a: &fno::Account) -> Self {
        UpdateAcctData {
            account: AcctIdent::new(&a.id),
            name: a.name.clone(),
            description: a.description.clone(),
            address: address(&a.address),
            visible: a.visible,
            custom_attributes: attrs(&a.attributes),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct UpdateAccountRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "acctData")]
    pub acct_data: Vec<UpdateAcctData>,
}

#[derive(Serialize, Debug, Default)]
pub struct AccountQueryParams {
    #[serde(rename = "accountID", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<SimpleQuery>,
    #[serde(rename = "accountName", skip_serializing_if = "Option::is_none")]
    pub account_name: Option<SimpleQuery>,
    #[serde(
        rename = "lastModifiedDateTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<ValueQuery>,
}

/// UAH queries: `pageNumber` before `batchSize`.
#[derive(Serialize, Debug)]
pub struct GetAccountsQueryRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "queryParams", skip_serializing_if = "Option::is_none")]
    pub query_params: Option<AccountQueryParams>,
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
    #[serde(rename = "batchSize")]
    pub batch_size: u32,
}

#[derive(Serialize, Debug)]
pub struct RolePk {
    pub name: String,
}

#[derive(Serialize, Debug)]
pub struct RoleIdent {
    #[serde(rename = "primaryKeys")]
    pub primary_keys: RolePk,
}

#[derive(Serialize, Debug)]
pub struct Roles {
    pub role: Vec<RoleIdent>,
}

#[derive(Serialize, Debug)]
pub struct AcctRoles {
    pub account: AcctIdent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Roles>,
}

#[derive(Serialize, Debug)]
pub struct AcctRolesList {
    #[serde(rename = "acctRoles")]
    pub acct_roles: Vec<AcctRoles>,
    /// Only on updateUser (`CollectionOperationType`).
    #[serde(rename = "opType", skip_serializing_if = "Option::is_none")]
    pub op_type: Option<&'static str>,
}

fn acct_roles(u: &fno::User, op: Option<&'static str>) -> AcctRolesList {
    AcctRolesList {
        acct_roles: u
            .account_roles
            .iter()
            .map(|r| AcctRoles {
                account: AcctIdent::new(&r.account_id),
                roles: (!r.roles.is_empty()).then(|| Roles {
                    role: r
                        .roles
                        .iter()
                        .map(|n| RoleIdent {
                            primary_keys: RolePk { name: n.clone() },
                        })
                        .collect(),
                }),
            })
            .collect(),
        op_type: op,
    }
}

/// `createUserDataType`
#[derive(Serialize, Debug)]
pub struct CreateUserData {
    #[serde(rename = "firstName")]
    pub first_name: String,
    #[serde(rename = "lastName")]
    pub last_name: String,
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(rename = "emailAddress")]
    pub email_address: String,
    #[serde(rename = "optIn", skip_serializing_if = "Option::is_none")]
    pub opt_in: Option<bool>,
    #[serde(rename = "phoneNumber", skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(rename = "faxNumber", skip_serializing_if = "Option::is_none")]
    pub fax_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(rename = "canLogin")]
    pub can_login: bool,
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(rename = "acctRolesList")]
    pub acct_roles_list: AcctRolesList,
    #[serde(rename = "customAttributes", skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Attrs>,
}

impl From<&fno::User> for CreateUserData {
    fn from(u: &fno::User) -> Self {
        CreateUserData {
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            display_name: u.display_name.clone(),
            email_address: u.email_address.clone(),
            opt_in: u.opt_in,
            phone_number: u.phone_number.clone(),
            fax_number: u.fax_number.clone(),
            street: u.street.clone(),
            city: u.city.clone(),
            state: u.state.clone(),
            zipcode: u.zipcode.clone(),
            country: u.country.clone(),
            locale: u.locale.clone(),
            can_login: u.can_login,
            user_name: u.user_name.clone(),
            status: u.status.clone(),
            timezone: u.timezone.clone(),
            acct_roles_list: acct_roles(u, None),
            custom_attributes: attrs(&u.attributes),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct CreateUserRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub user: Vec<CreateUserData>,
    #[serde(rename = "opType", skip_serializing_if = "Option::is_none")]
    pub op_type: Option<&'static str>,
}

#[derive(Serialize, Debug)]
pub struct UserPk {
    #[serde(rename = "firstName")]
    pub first_name: String,
    #[serde(rename = "lastName")]
    pub last_name: String,
    #[serde(rename = "emailAddress")]
    pub email_address: String,
}

#[derive(Serialize, Debug)]
pub struct UserIdent {
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(rename = "primaryKeys")]
    pub primary_keys: UserPk,
}

/// `updateUserDataType` (note: `status` comes before `locale` here, unlike on create).
#[derive(Serialize, Debug)]
pub struct UpdateUserData {
    pub user: UserIdent,
    #[serde(rename = "firstName")]
    pub first_name: String,
    #[serde(rename = "lastName")]
    pub last_name: String,
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(rename = "optIn", skip_serializing_if = "Option::is_none")]
    pub opt_in: Option<bool>,
    #[serde(rename = "phoneNumber", skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(rename = "faxNumber", skip_serializing_if = "Option::is_none")]
    pub fax_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(rename = "acctRolesList", skip_serializing_if = "Option::is_none")]
    pub acct_roles_list: Option<AcctRolesList>,
    #[serde(rename = "customAttributes", skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Attrs>,
}

impl From<&fno::User> for UpdateUserData {
    fn from(u: &fno::User) -> Self {
        UpdateUserData {
            user: UserIdent {
                user_name: u.user_name.clone(),
                primary_keys: UserPk {
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    email_address: u.email_address.clone(),
                },
            },
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            display_name: u.display_name.clone(),
            opt_in: u.opt_in,
            phone_number: u.phone_number.clone(),
            fax_number: u.fax_number.clone(),
            street: u.street.clone(),
            city: u.city.clone(),
            state: u.state.clone(),
            zipcode: u.zipcode.clone(),
            country: u.country.clone(),
            status: u.status.clone(),
            locale: u.locale.clone(),
            timezone: u.timezone.clone(),
            acct_roles_list: (!u.account_roles.is_empty()).then(|| acct_roles(u, Some("ADD"))),
            custom_attributes: attrs(&u.attributes),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct UpdateUserRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "userData")]
    pub user_data: Vec<UpdateUserData>,
}

#[derive(Serialize, Debug, Default)]
pub struct UserQueryParams {
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    pub user_name: Option<SimpleQuery>,
    #[serde(rename = "emailAddress", skip_serializing_if = "Option::is_none")]
    pub email_address: Option<SimpleQuery>,
    #[serde(rename = "accountID", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<SimpleQuery>,
    #[serde(
        rename = "lastModifiedDateTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<ValueQuery>,
}

#[derive(Serialize, Debug)]
pub struct GetUsersQueryRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "queryParams", skip_serializing_if = "Option::is_none")]
    pub query_params: Option<UserQueryParams>,
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
    #[serde(rename = "batchSize")]
    pub batch_size: u32,
}

// ------------------------------------------------------------------ EOS v4 requests

/// `idType`
#[derive(Serialize, Debug)]
pub struct IdType {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "autoGenerate")]
    pub auto_generate: bool,
}

impl IdType {
    pub fn of(id: Option<&str>) -> Self {
        IdType {
            id: id.map(str::to_owned),
            auto_generate: id.is_none(),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct PartPk {
    #[serde(rename = "partId")]
    pub part_id: String,
}

#[derive(Serialize, Debug)]
pub struct PartIdent {
    #[serde(rename = "primaryKeys")]
    pub primary_keys: PartPk,
}

#[derive(Serialize, Debug)]
pub struct Term {
    #[serde(rename = "numDuration")]
    pub num_duration: u32,
    #[serde(rename = "durationUnit")]
    pub duration_unit: &'static str,
}

/// `licenseModelPKType`
#[derive(Serialize, Debug)]
pub struct ModelPk {
    pub name: String,
}

/// `licenseModelIdentifierType`: `licenseModel/primaryKeys/name`.
#[derive(Serialize, Debug)]
pub struct ModelIdent {
    #[serde(rename = "primaryKeys")]
    pub primary_keys: ModelPk,
}

impl ModelIdent {
    pub fn of(name: Option<&str>) -> Option<Self> {
        name.map(|n| ModelIdent {
            primary_keys: ModelPk { name: n.to_owned() },
        })
    }
}

/// `versionDateAttributesType`: only `versionOption` (DEFINE_NOW with a `versionDate`).
#[derive(Serialize, Debug)]
pub struct VersionDateAttributes {
    #[serde(rename = "versionOption")]
    pub version_option: &'static str,
}

impl VersionDateAttributes {
    /// DEFINE_NOW ("specify value now") when a version date is given, like `startDateOption`
    /// with a `startDate` (R14).
    pub fn of(date: Option<&String>) -> Option<Self> {
        date.map(|_| VersionDateAttributes {
            version_option: "DEFINE_NOW",
        })
    }
}

/// `createEntitlementLineItemDataType`, in schema order: activationId, description,
/// (product), partNumber, licenseModel, (alternateLicenseModel1/2, licenseModelAttributes),
/// FNPTimeZoneValue, (policyAttributes), orderId, orderLineNumber, numberOfCopies, startDate,
/// startDateOption, isPermanent, term, expirationDate, versionDate, versionDateAttributes,
/// lineItemType, (entitledProducts), lineItemAttributes.
#[derive(Serialize, Debug)]
pub struct LineItemData {
    #[serde(rename = "activationId")]
    pub activation_id: IdType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "partNumber")]
    pub part_number: PartIdent,
    #[serde(rename = "licenseModel", skip_serializing_if = "Option::is_none")]
    pub license_model: Option<ModelIdent>,
    #[serde(rename = "FNPTimeZoneValue", skip_serializing_if = "Option::is_none")]
    pub fnp_time_zone_value: Option<String>,
    #[serde(rename = "orderId", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(rename = "orderLineNumber", skip_serializing_if = "Option::is_none")]
    pub order_line_number: Option<String>,
    #[serde(rename = "numberOfCopies")]
    pub number_of_copies: u32,
    #[serde(rename = "startDate", skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(rename = "startDateOption", skip_serializing_if = "Option::is_none")]
    pub start_date_option: Option<&'static str>,
    #[serde(rename = "isPermanent", skip_serializing_if = "Option::is_none")]
    pub is_permanent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
    #[serde(rename = "expirationDate", skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
    #[serde(rename = "versionDate", skip_serializing_if = "Option::is_none")]
    pub version_date: Option<String>,
    #[serde(
        rename = "versionDateAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub version_date_attributes: Option<VersionDateAttributes>,
    #[serde(rename = "lineItemType", skip_serializing_if = "Option::is_none")]
    pub line_item_type: Option<&'static str>,
    #[serde(rename = "lineItemAttributes", skip_serializing_if = "Option::is_none")]
    pub line_item_attributes: Option<Attrs>,
}

impl From<&fno::LineItem> for LineItemData {
    fn from(l: &fno::LineItem) -> Self {
        let (is_permanent, term, expiration_date) = match l.expiration {
            None => (None, None, None),
            Some(fno::Expiration::Permanent) => (Some(true), None, None),
            Some(fno::Expiration::Term { num_duration, unit }) => (
                Some(false),
                Some(Term {
                    num_duration,
                    duration_unit: duration_unit(unit),
                }),
                None,
            ),
            Some(fno::Expiration::Date { date }) => (Some(false), None, Some(date.to_string())),
        };
        let version_date = l.version_date.map(|d| d.to_string());
        LineItemData {
            activation_id: IdType::of(l.activation_id.as_deref()),
            description: l.description.clone(),
            part_number: PartIdent {
                primary_keys: PartPk {
                    part_id: l.part_number.clone(),
                },
            },
            license_model: ModelIdent::of(l.license_model.as_deref()),
            fnp_time_zone_value: l.fnp_time_zone_value.clone(),
            order_id: l.order_id.clone(),
            order_line_number: l.order_line_number.clone(),
            number_of_copies: l.number_of_copies,
            start_date: l.start_date.map(|d| d.to_string()),
            start_date_option: l.start_date_option.map(start_date_option),
            is_permanent,
            term,
            expiration_date,
            version_date_attributes: VersionDateAttributes::of(version_date.as_ref()),
            version_date,
            line_item_type: l.line_item_type.map(line_item_type),
            line_item_attributes: attrs(&l.attributes),
        }
    }
}

/// `userIdentifierType` by user name.
#[derive(Serialize, Debug)]
pub struct UserNameIdent {
    #[serde(rename = "userName")]
    pub user_name: String,
}

/// `channelPartnerDataType`: tierName, accountUnit, contact?, currentOwner?.
#[derive(Serialize, Debug)]
pub struct ChannelPartner {
    #[serde(rename = "tierName")]
    pub tier_name: String,
    #[serde(rename = "accountUnit")]
    pub account_unit: AcctIdent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<UserNameIdent>,
    #[serde(rename = "currentOwner", skip_serializing_if = "Option::is_none")]
    pub current_owner: Option<bool>,
}

#[derive(Serialize, Debug)]
pub struct ChannelPartners {
    #[serde(rename = "channelPartner")]
    pub channel_partner: Vec<ChannelPartner>,
}

/// `createSimpleEntitlementDataType`
#[derive(Serialize, Debug)]
pub struct SimpleEntitlementData {
    #[serde(rename = "entitlementId")]
    pub entitlement_id: IdType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "soldTo")]
    pub sold_to: String,
    #[serde(rename = "shipToEmail", skip_serializing_if = "Option::is_none")]
    pub ship_to_email: Option<String>,
    #[serde(rename = "shipToAddress", skip_serializing_if = "Option::is_none")]
    pub ship_to_address: Option<String>,
    #[serde(
        rename = "emailTemplateVariation",
        skip_serializing_if = "Option::is_none"
    )]
    pub email_template_variation: Option<String>,
    #[serde(rename = "lineItems")]
    pub line_items: Vec<LineItemData>,
    #[serde(rename = "channelPartners", skip_serializing_if = "Option::is_none")]
    pub channel_partners: Option<ChannelPartners>,
    #[serde(
        rename = "entitlementAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub entitlement_attributes: Option<Attrs>,
}

impl From<&fno::Entitlement> for SimpleEntitlementData {
    fn from(e: &fno::Entitlement) -> Self {
        SimpleEntitlementData {
            entitlement_id: IdType::of(Some(&e.entitlement_id)),
            description: e.description.clone(),
            sold_to: e.sold_to.clone(),
            ship_to_email: e.ship_to_email.clone(),
            ship_to_address: e.ship_to_address.clone(),
            email_template_variation: e.email_template_variation.clone(),
            line_items: e.line_items.iter().map(LineItemData::from).collect(),
            channel_partners: (!e.channel_partners.is_empty()).then(|| ChannelPartners {
                channel_partner: e
                    .channel_partners
                    .iter()
                    .map(|c| ChannelPartner {
                        tier_name: c.tier_name.clone(),
                        account_unit: AcctIdent::new(&c.account_id),
                        contact: c.contact.as_ref().map(|u| UserNameIdent {
                            user_name: u.clone(),
                        }),
                        current_owner: c.current_owner,
                    })
                    .collect(),
            }),
            entitlement_attributes: attrs(&e.attributes),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct CreateSimpleEntitlementRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "simpleEntitlement")]
    pub simple_entitlement: Vec<SimpleEntitlementData>,
    #[serde(rename = "opType", skip_serializing_if = "Option::is_none")]
    pub op_type: Option<&'static str>,
}

#[derive(Serialize, Debug)]
pub struct EntPk {
    #[serde(rename = "entitlementId")]
    pub entitlement_id: String,
}

#[derive(Serialize, Debug)]
pub struct EntIdent {
    #[serde(rename = "primaryKeys")]
    pub primary_keys: EntPk,
}

impl EntIdent {
    pub fn new(id: &str) -> Self {
        EntIdent {
            primary_keys: EntPk {
                entitlement_id: id.to_owned(),
            },
        }
    }
}

#[derive(Serialize, Debug)]
pub struct AddLineItemData {
    #[serde(rename = "entitlementIdentifier")]
    pub entitlement_identifier: EntIdent,
    #[serde(rename = "lineItems")]
    pub line_items: Vec<LineItemData>,
}

#[derive(Serialize, Debug)]
pub struct CreateEntitlementLineItemRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "lineItem")]
    pub line_item: Vec<AddLineItemData>,
    #[serde(rename = "opType", skip_serializing_if = "Option::is_none")]
    pub op_type: Option<&'static str>,
}

#[derive(Serialize, Debug)]
pub struct EntitlementState {
    #[serde(rename = "entitlementIdentifier")]
    pub entitlement_identifier: EntIdent,
    #[serde(rename = "stateToSet")]
    pub state_to_set: &'static str,
}

#[derive(Serialize, Debug)]
pub struct LineItemState {
    #[serde(rename = "lineItemIdentifier")]
    pub line_item_identifier: LineIdent,
    #[serde(rename = "stateToSet")]
    pub state_to_set: &'static str,
}

#[derive(Serialize, Debug)]
pub struct SetLineItemStateRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "lineItem")]
    pub line_item: Vec<LineItemState>,
}

#[derive(Serialize, Debug)]
pub struct SetEntitlementStateRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub entitlement: Vec<EntitlementState>,
}

#[derive(Serialize, Debug)]
pub struct LinePk {
    #[serde(rename = "activationId")]
    pub activation_id: String,
}

#[derive(Serialize, Debug)]
pub struct LineIdent {
    #[serde(rename = "primaryKeys")]
    pub primary_keys: LinePk,
}

#[derive(Serialize, Debug)]
pub struct ExpirationTerms {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
    #[serde(rename = "expirationDate", skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
}

/// `renewParametersDataType`
#[derive(Serialize, Debug)]
pub struct RenewParameters {
    #[serde(rename = "activationId")]
    pub activation_id: IdType,
    #[serde(rename = "isPermanent", skip_serializing_if = "Option::is_none")]
    pub is_permanent: Option<bool>,
    #[serde(rename = "expirationTerms", skip_serializing_if = "Option::is_none")]
    pub expiration_terms: Option<ExpirationTerms>,
    #[serde(rename = "numberOfCopies", skip_serializing_if = "Option::is_none")]
    pub number_of_copies: Option<u32>,
    #[serde(rename = "startDate", skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(rename = "startDateOption", skip_serializing_if = "Option::is_none")]
    pub start_date_option: Option<&'static str>,
    #[serde(rename = "versionDate", skip_serializing_if = "Option::is_none")]
    pub version_date: Option<String>,
    #[serde(
        rename = "versionDateAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub version_date_attributes: Option<VersionDateAttributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "orderId", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(rename = "orderLineNumber", skip_serializing_if = "Option::is_none")]
    pub order_line_number: Option<String>,
    #[serde(rename = "licenseModel", skip_serializing_if = "Option::is_none")]
    pub license_model: Option<ModelIdent>,
    #[serde(rename = "FNPTimeZoneValue", skip_serializing_if = "Option::is_none")]
    pub fnp_time_zone_value: Option<String>,
    #[serde(rename = "lineItemAttributes", skip_serializing_if = "Option::is_none")]
    pub line_item_attributes: Option<Attrs>,
}

impl RenewParameters {
    pub fn from_line(l: &fno::LineItem) -> Self {
        let base = LineItemData::from(l);
        RenewParameters {
            activation_id: base.activation_id,
            is_permanent: base.is_permanent,
            expiration_terms: if base.term.is_some() || base.expiration_date.is_some() {
                Some(ExpirationTerms {
                    term: base.term,
                    expiration_date: base.expiration_date,
                })
            } else {
                None
            },
            number_of_copies: Some(base.number_of_copies),
            start_date: base.start_date,
            start_date_option: base.start_date_option,
            version_date: base.version_date,
            version_date_attributes: base.version_date_attributes,
            description: base.description,
            order_id: base.order_id,
            order_line_number: base.order_line_number,
            license_model: base.license_model,
            fnp_time_zone_value: base.fnp_time_zone_value,
            line_item_attributes: base.line_item_attributes,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct RenewLineItemData {
    #[serde(rename = "parentLineItemIdentifier")]
    pub parent: LineIdent,
    #[serde(rename = "renewParameters")]
    pub renew_parameters: RenewParameters,
}

#[derive(Serialize, Debug)]
pub struct RenewEntitlementData {
    #[serde(rename = "parentEntitlementIdentifier")]
    pub parent: EntIdent,
    #[serde(rename = "renewLineItemData")]
    pub renew_line_item_data: Vec<RenewLineItemData>,
}

#[derive(Serialize, Debug)]
pub struct RenewLicenseRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "entitlementData")]
    pub entitlement_data: Vec<RenewEntitlementData>,
}

#[derive(Serialize, Debug, Default)]
pub struct EntitlementSearchCriteria {
    #[serde(rename = "entitlementId", skip_serializing_if = "Option::is_none")]
    pub entitlement_id: Option<SimpleQuery>,
    #[serde(rename = "partNumber", skip_serializing_if = "Option::is_none")]
    pub part_number: Option<SimpleQuery>,
    #[serde(rename = "soldTo", skip_serializing_if = "Option::is_none")]
    pub sold_to: Option<SimpleQuery>,
    #[serde(rename = "lastModifiedDate", skip_serializing_if = "Option::is_none")]
    pub last_modified_date: Option<ValueQuery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ValueQuery>,
}

/// EOS queries: `batchSize` before `pageNumber`.
#[derive(Serialize, Debug)]
pub struct SearchEntitlementRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "entitlementSearchCriteria")]
    pub criteria: EntitlementSearchCriteria,
    #[serde(rename = "batchSize")]
    pub batch_size: u32,
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
}

#[derive(Serialize, Debug, Default)]
pub struct LineItemQueryParams {
    #[serde(rename = "entitlementId", skip_serializing_if = "Option::is_none")]
    pub entitlement_id: Option<SimpleQuery>,
    #[serde(rename = "activationId", skip_serializing_if = "Option::is_none")]
    pub activation_id: Option<SimpleQuery>,
    #[serde(rename = "partNumber", skip_serializing_if = "Option::is_none")]
    pub part_number: Option<SimpleQuery>,
    #[serde(rename = "orderId", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<SimpleQuery>,
    #[serde(rename = "orderLineNumber", skip_serializing_if = "Option::is_none")]
    pub order_line_number: Option<SimpleQuery>,
    #[serde(rename = "soldTo", skip_serializing_if = "Option::is_none")]
    pub sold_to: Option<SimpleQuery>,
    #[serde(
        rename = "lastModifiedDateTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<ValueQuery>,
}

/// `entitlementLineItemResponseConfigRequestType`: the fields the connector reads, in schema
/// order (only flagged fields come back).
#[derive(Serialize, Debug)]
pub struct LineItemResponseConfig {
    #[serde(rename = "activationId")]
    pub activation_id: bool,
    pub description: bool,
    pub state: bool,
    #[serde(rename = "orderId")]
    pub order_id: bool,
    #[serde(rename = "orderLineNumber")]
    pub order_line_number: bool,
    #[serde(rename = "entitlementId")]
    pub entitlement_id: bool,
    #[serde(rename = "soldTo")]
    pub sold_to: bool,
    #[serde(rename = "entitlementState")]
    pub entitlement_state: bool,
    pub product: bool,
    #[serde(rename = "partNumber")]
    pub part_number: bool,
    #[serde(rename = "lineItemSupportAction")]
    pub line_item_support_action: bool,
    #[serde(rename = "parentLineItem")]
    pub parent_line_item: bool,
    #[serde(rename = "startDate")]
    pub start_date: bool,
    #[serde(rename = "isPermanent")]
    pub is_permanent: bool,
    #[serde(rename = "expirationDate")]
    pub expiration_date: bool,
    #[serde(rename = "numberOfCopies")]
    pub number_of_copies: bool,
    #[serde(rename = "fulfilledAmount")]
    pub fulfilled_amount: bool,
    #[serde(rename = "numberOfRemainingCopies")]
    pub number_of_remaining_copies: bool,
    #[serde(rename = "lastModifiedDateTime")]
    pub last_modified_date_time: bool,
}

impl LineItemResponseConfig {
    pub fn all() -> Self {
        LineItemResponseConfig {
            activation_id: true,
            description: true,
            state: true,
            order_id: true,
            order_line_number: true,
            entitlement_id: true,
            sold_to: true,
            entitlement_state: true,
            product: true,
            part_number: true,
            line_item_support_action: true,
            parent_line_item: true,
            start_date: true,
            is_permanent: true,
            expiration_date: true,
            number_of_copies: true,
            fulfilled_amount: true,
            number_of_remaining_copies: true,
            last_modified_date_time: true,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct SearchLineItemsRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "queryParams")]
    pub query_params: LineItemQueryParams,
    #[serde(rename = "entitlementLineItemResponseConfig")]
    pub config: LineItemResponseConfig,
    #[serde(rename = "batchSize")]
    pub batch_size: u32,
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
}

// ------------------------------------------------------------------ PPS v2 requests

#[derive(Serialize, Debug, Default)]
pub struct ProductQueryParams {
    #[serde(rename = "productName", skip_serializing_if = "Option::is_none")]
    pub product_name: Option<SimpleQuery>,
    #[serde(rename = "partNumber", skip_serializing_if = "Option::is_none")]
    pub part_number: Option<SimpleQuery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ValueQuery>,
}

#[derive(Serialize, Debug)]
pub struct GetProductsQueryRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "queryParams", skip_serializing_if = "Option::is_none")]
    pub query_params: Option<ProductQueryParams>,
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
    #[serde(rename = "batchSize")]
    pub batch_size: u32,
    #[serde(rename = "returnContainedObjects")]
    pub return_contained_objects: bool,
}

#[derive(Serialize, Debug, Default)]
pub struct PartNumberQueryParams {
    #[serde(rename = "partId", skip_serializing_if = "Option::is_none")]
    pub part_id: Option<SimpleQuery>,
    #[serde(rename = "productName", skip_serializing_if = "Option::is_none")]
    pub product_name: Option<SimpleQuery>,
}

#[derive(Serialize, Debug)]
pub struct GetPartNumbersQueryRequest {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "queryParams", skip_serializing_if = "Option::is_none")]
    pub query_params: Option<PartNumberQueryParams>,
    #[serde(rename = "pageNumber")]
    pub page_number: u32,
    #[serde(rename = "batchSize")]
    pub batch_size: u32,
}

// ------------------------------------------------------------------ responses (local names)

#[derive(Deserialize, Debug, Clone)]
pub struct StatusInfo {
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAcctPk {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAcctIdent {
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<RAcctPk>,
}

impl RAcctIdent {
    pub fn id(&self) -> Option<String> {
        self.primary_keys.as_ref().and_then(|p| p.id.clone())
    }
}

/// The echoed `account` of a failed createAcct item (and `acctData` of updateAccount).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct REcho {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub account: Option<RAcctIdent>,
    #[serde(rename = "emailAddress", default)]
    pub email_address: Option<String>,
    #[serde(rename = "userName", default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub user: Option<RUserIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RFailed {
    #[serde(default)]
    pub account: Option<REcho>,
    #[serde(rename = "acctData", default)]
    pub acct_data: Option<REcho>,
    #[serde(default)]
    pub user: Option<REcho>,
    #[serde(rename = "userData", default)]
    pub user_data: Option<REcho>,
    #[serde(rename = "simpleEntitlement", default)]
    pub simple_entitlement: Option<REntEcho>,
    #[serde(rename = "lineItem", default)]
    pub line_item: Option<REntEcho>,
    #[serde(default)]
    pub entitlement: Option<REntEcho>,
    #[serde(rename = "entitlementData", default)]
    pub entitlement_data: Option<REntEcho>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RIdType {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct REntPk {
    #[serde(rename = "entitlementId", default)]
    pub entitlement_id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct REntIdent {
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<REntPk>,
}

impl REntIdent {
    pub fn id(&self) -> Option<String> {
        self.primary_keys
            .as_ref()
            .and_then(|p| p.entitlement_id.clone())
    }
}

/// Echo of a failed entitlement-shaped item: `simpleEntitlement` (entitlementId is an idType),
/// `lineItem` / `entitlement` (entitlementIdentifier), `entitlementData` (renewLicense).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct REntEcho {
    #[serde(rename = "entitlementId", default)]
    pub entitlement_id: Option<RIdType>,
    #[serde(rename = "entitlementIdentifier", default)]
    pub entitlement_identifier: Option<REntIdent>,
    #[serde(rename = "parentEntitlementIdentifier", default)]
    pub parent_entitlement_identifier: Option<REntIdent>,
    /// `setLineItemState`'s echo: `lineItem{lineItemIdentifier, stateToSet}`.
    #[serde(rename = "lineItemIdentifier", default)]
    pub line_item_identifier: Option<RLineIdent>,
}

impl REntEcho {
    pub fn id(&self) -> Option<String> {
        self.entitlement_id
            .as_ref()
            .and_then(|i| i.id.clone())
            .or_else(|| self.entitlement_identifier.as_ref().and_then(REntIdent::id))
            .or_else(|| {
                self.parent_entitlement_identifier
                    .as_ref()
                    .and_then(REntIdent::id)
            })
    }
}

/// `failedData`: the failed-item element's name differs per operation.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct RFailedList {
    #[serde(rename = "failedAcct", default)]
    pub failed_acct: Vec<RFailed>,
    #[serde(rename = "failedAccount", default)]
    pub failed_account: Vec<RFailed>,
    #[serde(rename = "failedUser", default)]
    pub failed_user: Vec<RFailed>,
    #[serde(rename = "failedSimpleEntitlement", default)]
    pub failed_simple_entitlement: Vec<RFailed>,
    #[serde(rename = "failedLineItemData", default)]
    pub failed_line_item_data: Vec<RFailed>,
    #[serde(rename = "failedEntitlement", default)]
    pub failed_entitlement: Vec<RFailed>,
    #[serde(rename = "failedLineItem", default)]
    pub failed_line_item: Vec<RFailed>,
}

impl RFailedList {
    pub fn into_items(self) -> Vec<RFailed> {
        let mut v = self.failed_acct;
        v.extend(self.failed_account);
        v.extend(self.failed_user);
        v.extend(self.failed_simple_entitlement);
        v.extend(self.failed_line_item_data);
        v.extend(self.failed_entitlement);
        v.extend(self.failed_line_item);
        v
    }
}

#[derive(Deserialize, Debug, Clone)]
pub struct WriteResponse<D> {
    #[serde(rename = "statusInfo")]
    pub status_info: StatusInfo,
    #[serde(rename = "failedData", default)]
    pub failed_data: Option<RFailedList>,
    #[serde(rename = "responseData", default = "none")]
    pub response_data: Option<D>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RCreatedAccounts {
    #[serde(default)]
    pub account: Vec<RAcctIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RUserPk {
    #[serde(rename = "firstName", default)]
    pub first_name: Option<String>,
    #[serde(rename = "lastName", default)]
    pub last_name: Option<String>,
    #[serde(rename = "emailAddress", default)]
    pub email_address: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RUserIdent {
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "userName", default)]
    pub user_name: Option<String>,
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<RUserPk>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RCreatedUsers {
    #[serde(default)]
    pub user: Vec<RUserIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RLinePk {
    #[serde(rename = "activationId", default)]
    pub activation_id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RLineIdent {
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<RLinePk>,
}

impl RLineIdent {
    pub fn activation_id(&self) -> Option<String> {
        self.primary_keys
            .as_ref()
            .and_then(|p| p.activation_id.clone())
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RCreatedEntitlement {
    #[serde(rename = "recordRefNo", default)]
    pub record_ref_no: Option<String>,
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "entitlementId", default)]
    pub entitlement_id: Option<String>,
    #[serde(rename = "lineItemIdentifiers", default)]
    pub line_item_identifiers: Vec<RLineIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RCreatedEntitlements {
    #[serde(rename = "createdSimpleEntitlement", default)]
    pub created: Vec<RCreatedEntitlement>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAddedLineItems {
    #[serde(rename = "entitlementIdentifier", default)]
    pub entitlement_identifier: Option<REntIdent>,
    #[serde(rename = "lineItemIdentifiers", default)]
    pub line_item_identifiers: Vec<RLineIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAddedList {
    #[serde(rename = "addedLineItems", default)]
    pub added: Vec<RAddedLineItems>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RNewLineItem {
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "activationId", default)]
    pub activation_id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RRenewedLineItem {
    #[serde(rename = "parentLineItemIdentifier", default)]
    pub parent: Option<RLineIdent>,
    #[serde(rename = "newLineItem", default)]
    pub new_line_item: Option<RNewLineItem>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RRenewedEntitlement {
    #[serde(rename = "parentEntitlementIdentifier", default)]
    pub parent: Option<REntIdent>,
    #[serde(rename = "renewedLineItem", default)]
    pub renewed: Vec<RRenewedLineItem>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RRenewedList {
    #[serde(rename = "entitlementData", default)]
    pub items: Vec<RRenewedEntitlement>,
}

/// No responseData (updateAccount, updateUser, setEntitlementState).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct RNothing {}

// --- query responses

#[derive(Deserialize, Debug, Clone)]
pub struct QueryResponse<D> {
    #[serde(rename = "statusInfo")]
    pub status_info: StatusInfo,
    #[serde(rename = "responseData", default = "none")]
    pub response_data: Option<D>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAttrValue {
    #[serde(rename = "attributeName", default)]
    pub name: String,
    #[serde(rename = "stringValue", default)]
    pub string_value: Option<String>,
    #[serde(rename = "dateValue", default)]
    pub date_value: Option<String>,
    #[serde(rename = "booleanValue", default)]
    pub boolean_value: Option<String>,
    #[serde(rename = "integerValue", default)]
    pub integer_value: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAttrs {
    #[serde(default)]
    pub attribute: Vec<RAttrValue>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAcctData {
    pub account: RAcctIdent,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "accountType", default)]
    pub account_type: Option<String>,
    #[serde(rename = "customAttributes", default)]
    pub custom_attributes: Option<RAttrs>,
    #[serde(rename = "dateLastModified", default)]
    pub date_last_modified: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RAccounts {
    #[serde(rename = "acctData", default)]
    pub acct_data: Vec<RAcctData>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RRoleNames {
    #[serde(rename = "roleName", default)]
    pub role_name: Vec<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RUserAcctRoles {
    #[serde(default)]
    pub account: Option<RAcctIdent>,
    #[serde(default)]
    pub roles: Option<RRoleNames>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RUserAcctRolesList {
    #[serde(rename = "acctRoles", default)]
    pub acct_roles: Vec<RUserAcctRoles>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RUserDetail {
    #[serde(rename = "userIdentifier")]
    pub user_identifier: RUserIdent,
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(rename = "dateLastModified", default)]
    pub date_last_modified: Option<String>,
    #[serde(rename = "accountRolesList", default)]
    pub account_roles_list: Option<RUserAcctRolesList>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RUsers {
    #[serde(default)]
    pub user: Vec<RUserDetail>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RProductPk {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RProductIdent {
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<RProductPk>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RPartPk {
    #[serde(rename = "partId", default)]
    pub part_id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RNamePk {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RNamedIdent {
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<RNamePk>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RPartIdent {
    #[serde(rename = "primaryKeys", default)]
    pub primary_keys: Option<RPartPk>,
    #[serde(rename = "licenseModel", default)]
    pub license_model: Option<RNamedIdent>,
}

impl RPartIdent {
    pub fn part_id(&self) -> Option<String> {
        self.primary_keys.as_ref().and_then(|p| p.part_id.clone())
    }
}

/// One `entitlementLineItem` of searchEntitlementLineItemPropertiesResponse.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct RLineProps {
    #[serde(rename = "activationId", default)]
    pub activation_id: Option<RLineIdent>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(rename = "orderId", default)]
    pub order_id: Option<String>,
    #[serde(rename = "orderLineNumber", default)]
    pub order_line_number: Option<String>,
    #[serde(rename = "entitlementId", default)]
    pub entitlement_id: Option<REntIdent>,
    #[serde(rename = "soldTo", default)]
    pub sold_to: Option<RAcctIdent>,
    #[serde(rename = "entitlementState", default)]
    pub entitlement_state: Option<String>,
    #[serde(default)]
    pub product: Option<RProductIdent>,
    #[serde(rename = "partNumber", default)]
    pub part_number: Option<RPartIdent>,
    #[serde(rename = "lineItemSupportAction", default)]
    pub line_item_support_action: Option<String>,
    #[serde(rename = "parentLineItem", default)]
    pub parent_line_item: Option<RLineIdent>,
    #[serde(rename = "startDate", default)]
    pub start_date: Option<String>,
    #[serde(rename = "isPermanent", default)]
    pub is_permanent: Option<String>,
    #[serde(rename = "expirationDate", default)]
    pub expiration_date: Option<String>,
    #[serde(rename = "numberOfCopies", default)]
    pub number_of_copies: Option<String>,
    #[serde(rename = "fulfilledAmount", default)]
    pub fulfilled_amount: Option<String>,
    #[serde(rename = "numberOfRemainingCopies", default)]
    pub number_of_remaining_copies: Option<String>,
    #[serde(rename = "lastModifiedDateTime", default)]
    pub last_modified_date_time: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct SearchLineItemsResponse {
    #[serde(rename = "statusInfo")]
    pub status_info: StatusInfo,
    #[serde(rename = "entitlementLineItem", default)]
    pub items: Vec<RLineProps>,
}

/// `lineItems` of a `simpleEntitlement` in searchEntitlementResponse.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct REntLine {
    #[serde(rename = "activationId", default)]
    pub activation_id: Option<RIdType>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub product: Option<RProductIdent>,
    #[serde(rename = "partNumber", default)]
    pub part_number: Option<RPartIdent>,
    #[serde(rename = "orderId", default)]
    pub order_id: Option<String>,
    #[serde(rename = "orderLineNumber", default)]
    pub order_line_number: Option<String>,
    #[serde(rename = "numberOfCopies", default)]
    pub number_of_copies: Option<String>,
    #[serde(rename = "startDate", default)]
    pub start_date: Option<String>,
    #[serde(rename = "isPermanent", default)]
    pub is_permanent: Option<String>,
    #[serde(rename = "expirationDate", default)]
    pub expiration_date: Option<String>,
    #[serde(rename = "lineItemType", default)]
    pub line_item_type: Option<String>,
    #[serde(rename = "numberOfRemainingCopies", default)]
    pub number_of_remaining_copies: Option<String>,
    #[serde(rename = "fulfilledCount", default)]
    pub fulfilled_count: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(rename = "parentLineItem", default)]
    pub parent_line_item: Option<RLineIdent>,
    #[serde(rename = "lastModifiedDateTime", default)]
    pub last_modified_date_time: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RSimpleEntitlement {
    #[serde(rename = "entitlementId", default)]
    pub entitlement_id: Option<RIdType>,
    #[serde(rename = "lastModifiedDateTime", default)]
    pub last_modified_date_time: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "soldTo", default)]
    pub sold_to: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(rename = "lineItems", default)]
    pub line_items: Vec<REntLine>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct REntitlement {
    #[serde(rename = "simpleEntitlement", default)]
    pub simple_entitlement: Option<RSimpleEntitlement>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct SearchEntitlementResponse {
    #[serde(rename = "statusInfo")]
    pub status_info: StatusInfo,
    #[serde(default)]
    pub entitlement: Vec<REntitlement>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RPartNumbers {
    #[serde(rename = "partNumber", default)]
    pub part_number: Vec<RPartIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RLicenseModels {
    #[serde(rename = "licenseModel", default)]
    pub license_model: Vec<RNamedIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RProduct {
    #[serde(rename = "uniqueId", default)]
    pub unique_id: Option<String>,
    #[serde(rename = "productName")]
    pub product_name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub state: String,
    #[serde(rename = "licenseModels", default)]
    pub license_models: Option<RLicenseModels>,
    #[serde(rename = "partNumbers", default)]
    pub part_numbers: Option<RPartNumbers>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RProducts {
    #[serde(default)]
    pub product: Vec<RProduct>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RPartNumberData {
    #[serde(rename = "partNumberIdentifier")]
    pub part_number_identifier: RPartIdent,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "mappedProduct", default)]
    pub mapped_product: Option<RProductIdent>,
    #[serde(rename = "mappedLicenseModel", default)]
    pub mapped_license_model: Option<RNamedIdent>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct RPartNumberList {
    #[serde(rename = "partNumber", default)]
    pub part_number: Vec<RPartNumberData>,
}
