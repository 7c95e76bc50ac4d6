//! The methods of the JSON front (PROTOCOL.md section 6): their names, their
//! positional signatures, the command each becomes, and the names its
//! caller knows for what the core calls by the XML parameter names.

/// A method of the JSON front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    ListCountry,
    ListArea,
    Reserve,
    OrderPay,
    Configure,
    ListAll,
    Return,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Self::ListCountry,
        Self::ListArea,
        Self::Reserve,
        Self::OrderPay,
        Self::Configure,
        Self::ListAll,
        Self::Return,
    ];

    /// The name a call gives in `method`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ListCountry => "did.zone.list_country",
            Self::ListArea => "did.zone.list_area",
            Self::Reserve => "did.reserve",
            Self::OrderPay => "did.order.pay",
            Self::Configure => "did.configure",
            Self::ListAll => "number.list_all",
            Self::Return => "number.return",
        }
    }

    /// The method called `name`, matched exactly: seed-000 clients send
    /// these names verbatim, and `DID.ORDER` is not one of them.
    pub fn parse(name: &str) -> Option<Method> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The positional parameters, by name, for the wrong-count message.
    pub fn signature(self) -> &'static [&'static str] {
        match self {
            Self::ListCountry | Self::ListAll => &[],
            Self::ListArea => &["country_code", "did_type"],
            Self::Reserve => &["area_code_id", "quantity", "mode", "class"],
            Self::OrderPay => &["order_token"],
            Self::Configure => &["phone_number", "routing_params"],
            Self::Return => &["phone_number"],
        }
    }

    /// The name of the command the method becomes (`Command::name`), for
    /// the log and the metrics even when its parameters are wrong.
    pub fn command_name(self) -> &'static str {
        match self {
            Self::ListCountry => "ANVEO.COUNTRIES.LIST",
            Self::ListArea => "ANVEO.AREAS.LIST",
            Self::Reserve => "DID.RESERVE",
            Self::OrderPay => "DID.ORDER",
            Self::Configure => "DID.UPDATE",
            Self::ListAll => "DID.LIST",
            Self::Return => "DID.CANCEL",
        }
    }

    /// The name of this method's rendering in the read cache: each method
    /// has its own shape, so two methods never share rendered bytes.
    pub fn rendering(self) -> &'static str {
        match self {
            Self::ListCountry => "json:did.zone.list_country",
            Self::ListArea => "json:did.zone.list_area",
            Self::Reserve => "json:did.reserve",
            Self::OrderPay => "json:did.order.pay",
            Self::Configure => "json:did.configure",
            Self::ListAll => "json:number.list_all",
            Self::Return => "json:number.return",
        }
    }

    /// The JSON parameter a caller of this method sent for the one the
    /// core's rules name `core` (they name the XML parameters, as in
    /// "parameter DID_TYPE is GEOGRAPHIC but area ... sells MOBILE
    /// numbers"); `None` when the caller sent nothing of that name.
    pub fn json_name(self, core: &str) -> Option<&'static str> {
        let names: &[(&str, &'static str)] = match self {
            Self::ListArea => &[("COUNTRY_ID", "country_code"), ("DID_TYPE", "did_type")],
            Self::Reserve => &[
                ("AREA_ID", "area_code_id"),
                ("QUANTITY", "quantity"),
                ("DID_TYPE", "class"),
            ],
            Self::OrderPay => &[("RESERVATION_ID", "order_token")],
            Self::Configure => &[
                ("CALL_FORWARD_TO", "params"),
                ("FILTER.E164", "phone_number"),
            ],
            Self::Return => &[("E164", "phone_number")],
            Self::ListCountry | Self::ListAll => &[],
        };
        names.iter().find(|(c, _)| *c == core).map(|(_, j)| *j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_exactly() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(m));
            assert!(m.rendering().ends_with(m.name()));
        }
        for other in ["DID.ORDER", "Did.Reserve", "did.reserve ", ""] {
            assert_eq!(Method::parse(other), None, "{other:?}");
        }
    }

    #[test]
    fn renderings_are_distinct() {
        let mut names: Vec<&str> = Method::ALL.iter().map(|m| m.rendering()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Method::ALL.len());
    }

    #[test]
    fn core_names_map_to_the_json_parameters() {
        assert_eq!(Method::Reserve.json_name("DID_TYPE"), Some("class"));
        assert_eq!(Method::ListArea.json_name("DID_TYPE"), Some("did_type"));
        assert_eq!(
            Method::Configure.json_name("FILTER.E164"),
            Some("phone_number")
        );
        // A plan the caller never named keeps the core's name.
        assert_eq!(Method::OrderPay.json_name("RATE_PLAN_ID"), None);
        assert_eq!(Method::ListAll.json_name("LIMIT"), None);
    }
}
