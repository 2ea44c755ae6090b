using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationModels;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DeviceTrust.Web;

/// <summary>How a host adds the console: its services (the host registers its <see cref="IConsoleHost"/>) and its endpoints.</summary>
public static class WebConsoleSetup
{
    /// <summary>The largest form the console takes (its forms are a few short fields).</summary>
    public const int MaxFormBytes = 16 * 1024;

    public const int MaxFormValues = 32;
    public const int MaxFormKeyLength = 64;

    public static IServiceCollection AddDeviceTrustWebConsole(this IServiceCollection services, WebConsoleOptions options)
    {
        services.AddSingleton(options.Validated());
        services.AddSingleton<ConsoleSessions>();
        services.AddSingleton<ConsoleGate>();
        services.Configure<FormOptions>(form =>
        {
            form.ValueCountLimit = MaxFormValues;
            form.KeyLengthLimit = MaxFormKeyLength;
            form.ValueLengthLimit = 8 * 1024;
            form.MultipartBodyLengthLimit = MaxFormBytes;
            form.BufferBodyLengthLimit = MaxFormBytes;
        });
        services.AddRazorPages(pages =>
            {
                // CSRF is ours (ConsoleGate: a token derived from the session; the login page: a double-submit
                // cookie), so it needs no key ring shared between gateways; the framework's is switched off.
                pages.Conventions.ConfigureFilter(new IgnoreAntiforgeryTokenAttribute());
                pages.Conventions.Add(new DefaultRequestSizeLimit());
            })
            .AddMvcOptions(mvc => mvc.Filters.AddService<ConsoleGate>())
            .AddApplicationPart(typeof(WebConsoleSetup).Assembly);
        return services;
    }

    public static IEndpointRouteBuilder MapDeviceTrustWebConsole(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages();
        var css = ReadResource("console.css");
        endpoints.MapGet("/console.css", (HttpContext http) =>
        {
            ConsoleGate.SecurityHeaders(http.Response);
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Bytes(css, "text/css; charset=utf-8");
        });
        return endpoints;
    }

    /// <summary>
    /// The small default body limit on every page but those that declare their own (the role editor): a filter added
    /// to all pages would run after, and win over, a page's own attribute.
    /// </summary>
    private sealed class DefaultRequestSizeLimit : IPageApplicationModelConvention
    {
        public void Apply(PageApplicationModel model)
        {
            if (!model.HandlerTypeAttributes.OfType<RequestSizeLimitAttribute>().Any())
            {
                model.Filters.Add(new RequestSizeLimitAttribute(MaxFormBytes));
            }
        }
    }

    private static byte[] ReadResource(string name)
    {
        using var stream = typeof(WebConsoleSetup).Assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"the console's {name} is missing from its assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
