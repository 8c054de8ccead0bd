//! HTML of the journey's pages: one shell (brand bar, main, footer) around either a
//! server-written message or the script's screens, with the boot data as a JSON data block.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::assets;
use super::headers::{Caching, Csp, secure};
use super::strings::Strings;
use crate::api::Response;
use crate::domain::Tenant;
use crate::domain::tenant::Colour;

/// How a tenant's pages look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub name: String,
    pub logo_url: Option<String>,
    pub logo_origin: Option<String>,
    /// Button colour and its text colour (black or white, whichever contrasts more).
    pub colours: Option<(Colour, Colour)>,
    /// The brand colour darkened to AA contrast on white, for links and focus rings.
    pub accent: Option<Colour>,
}

impl Brand {
    pub fn of(tenant: Option<&Tenant>) -> Self {
        let Some(tenant) = tenant else {
            return Brand {
                name: "Total Identity".into(),
                logo_url: None,
                logo_origin: None,
                colours: None,
                accent: None,
            };
        };
        let b = &tenant.branding;
        Brand {
            name: tenant.display_name().to_owned(),
            logo_url: b.logo_url.as_ref().map(|u| u.as_str().to_owned()),
            logo_origin: b.logo_url.as_ref().map(|u| u.origin()),
            colours: b.primary_colour.map(|c| (c, c.text_colour())),
            accent: b.primary_colour.map(Colour::on_white),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "name": self.name,
            "colour": self.colours.map(|(c, _)| c.hex()),
            "text": self.colours.map(|(_, t)| t.hex()),
            "accent": self.accent.map(Colour::hex),
        })
    }
}

/// Text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside `<script type="application/json">`: no `<` can close the element.
fn json_block(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

pub struct Page<'a> {
    pub status: StatusCode,
    pub strings: &'a Strings,
    pub brand: &'a Brand,
    pub title: String,
    /// Already-escaped HTML for `<main>`.
    pub main: String,
    /// Boot data for the script (`page`: `app` runs the journey; anything else only brands).
    pub boot: Value,
    pub csp: Csp,
}

impl Page<'_> {
    pub fn render(self) -> Response {
        let brand = self.brand;
        let logo =
            brand.logo_url.as_deref().map(|u| format!("<img src=\"{}\" alt=\"\">", escape(u))).unwrap_or_default();
        let html = format!(
            "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex\">\n\
             <title>{title} – {name}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
             <link rel=\"stylesheet\" href=\"{css}\">\n\
             <script type=\"application/json\" id=\"boot\">{boot}</script>\n\
             <script src=\"{js}\" defer></script>\n</head>\n<body>\n\
             <header class=\"brand-bar\">{logo}<span class=\"brand-name\">{name}</span></header>\n\
             <main id=\"main\">\n{main}\n</main>\n\
             <div id=\"live\" class=\"visually-hidden\" aria-live=\"polite\"></div>\n\
             <footer>{footer}</footer>\n</body>\n</html>\n",
            lang = escape(self.strings.lang()),
            title = escape(&self.title),
            name = escape(&brand.name),
            css = assets::path("css"),
            js = assets::path("js"),
            boot = json_block(&self.boot),
            main = self.main,
            footer = escape(self.strings.get("secured_by")),
        );
        let mut resp = Response::new(Bytes::from(html));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        let csp = Csp { logo_origin: brand.logo_origin.clone(), ..self.csp };
        secure(&mut resp, &csp, Caching::NoStore);
        resp
    }
}

/// A page that only says something, with at most one action (a link or a one-button form).
pub enum Action {
    None,
    Link { href: String, label: String },
    Post { action: String, label: String },
}

pub fn message(status: StatusCode, strings: &Strings, brand: &Brand, kind: &str, action: Action) -> Response {
    let title = strings.with_name(&format!("{kind}_title"), &brand.name);
    let body = strings.with_name(&format!("{kind}_body"), &brand.name);
    let action = match action {
        Action::None => String::new(),
        Action::Link { href, label } => {
            format!(
                "<div class=\"actions\"><a class=\"button\" href=\"{}\">{}</a></div>",
                escape(&href),
                escape(&label)
            )
        }
        Action::Post { action, label } => format!(
            "<form method=\"post\" action=\"{}\" class=\"actions\"><button type=\"submit\">{}</button></form>",
            escape(&action),
            escape(&label)
        ),
    };
    let main = format!(
        "<div class=\"card\" data-page=\"{kind}\"><h1>{}</h1><p>{}</p>{action}</div>",
        escape(&title),
        escape(&body)
    );
    Page {
        status,
        strings,
        brand,
        title,
        main,
        boot: json!({"page": kind, "brand": brand.json()}),
        csp: Csp::default(),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_boot_data_cannot_break_out() {
        assert_eq!(escape("<b a=\"x\">'&"), "&lt;b a=&quot;x&quot;&gt;&#39;&amp;");
        let block = json_block(&json!({"name": "</script><script>alert(1)</script>"}));
        assert!(!block.contains('<'), "{block}");
        let back: Value = serde_json::from_str(&block).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script>");
    }

    #[test]
    fn a_message_page_is_branded_and_has_no_inline_code() {
        let brand = Brand {
            name: "Acme <Bank>".into(),
            logo_url: Some("https://cdn.acme.com/logo.svg".into()),
            logo_origin: Some("https://cdn.acme.com".into()),
            colours: Some((Colour::parse("#ffd400").unwrap(), Colour::BLACK)),
            accent: None,
        };
        let resp = message(StatusCode::GONE, Strings::for_locale(None), &brand, "expired", Action::None);
        assert_eq!(resp.status(), StatusCode::GONE);
        let html = std::str::from_utf8(resp.body()).unwrap();
        assert!(html.contains("This link has expired") && html.contains("Acme &lt;Bank&gt;"), "{html}");
        assert!(!html.contains("style=") && !html.contains("onclick"), "no inline style or handlers");
        assert_eq!(html.matches("<script").count(), 2, "the boot data and one external script");
        assert!(html.contains("<script type=\"application/json\" id=\"boot\">"));
        assert!(html.contains("\"colour\":\"#ffd400\"") && html.contains("\"text\":\"#000000\""), "{html}");
        let csp = resp.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("img-src 'self' data: blob: https://cdn.acme.com;"), "{csp}");
    }
}
