//! A panic on the page aborts its wasm instance, so the banner is written with plain DOM calls
//! (not through Leptos, which is gone by then), with a link that reloads the page (a link, as the
//! page's Content-Security-Policy refuses inline event handlers).

pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_banner(&info.to_string());
    }));
}

fn show_banner(message: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(banner) = document.create_element("div") else { return };
    banner.set_id("panic-banner");
    banner.set_class_name("banner error");
    banner.set_attribute("role", "alert").ok();
    banner.set_inner_html(
        "<strong>Something broke inside the page.</strong> <span></span> \
         <a class=\"button\" href=\"\">Reload the page</a>",
    );
    if let Ok(Some(span)) = banner.query_selector("span") {
        span.set_text_content(Some(message));
    }
    if let Some(body) = document.body() {
        body.prepend_with_node_1(&banner).ok();
    }
}
